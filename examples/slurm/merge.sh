#!/bin/bash
# The merge of the array's shards (no GPU needed), queued by submit.sh to start only once every task of
# the array has succeeded (--dependency=afterok). Writes $RUN/merged: analysis.json, the CSVs and
# index.html, byte-identical to an unsharded run's; refuses, naming it, a shard missing or unfinished.
#SBATCH --job-name=resnet-stream-merge
#SBATCH --cpus-per-task=2
#SBATCH --mem=16G
#SBATCH --time=01:00:00
#SBATCH --output=resnet-stream-merge-%j.log
set -euo pipefail

SHARDS=${SHARDS:-8}
read -r -a CLI <<< "${RESNET_STREAM:-resnet-stream}"
RUN=${RUN:-/shared/runs/imagenet-val}

shards=()
for ((k = 0; k < SHARDS; k++)); do shards+=("$RUN/shard-$k"); done
"${CLI[@]}" merge --out "$RUN/merged" "${shards[@]}"
