#!/usr/bin/env bash
# The committed example report: 200 shared ImageNet samples (every 5th class), blocks 1.1 to 3.1,
# the partial real weights, dataset probes (k = 9). Needs ../shared; writes examples/report-200/
# (post-ReLU readouts, the 2024 paper's) or, with VARIANT=pre-relu, examples/report-200-pre-relu/
# (the 2025 follow-up's pre-ReLU readouts).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/data
list=$(mktemp)
ls "$shared/imagenet-samples" | sort | awk 'NR % 5 == 1' | head -200 | sed "s#^#$(cd "$shared/imagenet-samples" && pwd)/#" > "$list"
npm run build --silent
variant=${VARIANT:-post-relu}
out=examples/report-200$([ "$variant" = pre-relu ] && echo -pre-relu)
node dist/cli.js analyze --weights "$shared/weights/resnet18-imagenet1k-v1-partial.pth" \
  --images "$list" --blocks 1.1,2.0,2.1,3.0,3.1 --top-k 9 --variant "$variant" --out "$out" "$@"
rm -f "$list" "$out/journal.jsonl"
