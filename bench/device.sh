#!/usr/bin/env bash
# bench/device.sh: the Node benchmark (Dawn, Vulkan) at full size on a GPU machine without Node,
# npm or network (an NVIDIA H200 so far), results under $OUT (default /tmp/resnet-stream-device-out).
#
# 1. Here, on a machine with the repo, node_modules and apt (once per change of the bench/engine):
#        bash bench/device.sh prepare
#    builds bench/.build/device/ (the Node bench with tfjs and ONNX Runtime bundled in, Dawn's
#    native module, ORT's wasm, this machine's node binary and the float64 reference logits of
#    ResNet18 and ResNet50 at 224, packed into payload.tar.xz) and downloads the Vulkan loader
#    packages into .gl/ (the GPU machine's image has no Vulkan loader).
# 2. On the GPU machine, from a copy of the working tree with .gl and bench/.build/device beside it:
#        for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; bash bench/device.sh run
#    (about 2 to 6 minutes: ResNet18 with every measure, then ResNet50 at batch 1 beside the same
#    peers, then the feature-visualisation step rate)
#    (extra runner options go after `run`, e.g. `run --runs 50 --batches 8,32,64` or
#    `run --conv-variant gemm`; they apply to both networks. SKIP_RESNET50=1 leaves out ResNet50,
#    SKIP_FV=1 the feature-visualisation step rate).
# 3. Here: copy the configuration's files (not its summary, which covers that run alone) and
#    rewrite the reports and the day's summary over every configuration:
#        cp <files_at>/*-node-*.json <files_at>/*-node-*.md <files_at>/*-node-*.svg bench/results/
#        node bench/run.mjs --report-only --date <the date in the file names>   (both networks' summaries)
#        node bench/fv.mjs --report-only --date <the date>   (the fv-node-nvidia file)
#    The family's latencies: bench/.build/device/family-bench.mjs (bench/family-node.ts) runs with the
#    same node and carry: bin/node family-bench.mjs --adapter gpu --archs resnet50,... --out FILE.json
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEV=bench/.build/device

prepare() {
  if [ -z "${SKIP_IGNORE_CHECK:-}" ] && ! git check-ignore -q "$DEV/payload.tar.xz"; then
    echo "bench/.build/ is not git-ignored: its 50+ MB of weights and bundles would travel to the device" >&2
    echo "machine with the working tree. Add 'bench/.build/' to .gitignore first." >&2
    exit 1
  fi
  node bench/build.mjs --device
  local stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/$DEV/bin" "$stage/node_modules/webgpu/dist/linux-x64" "$stage/node_modules/onnxruntime-web/dist"
  cp "$(command -v node)" "$stage/$DEV/bin/node"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
  cp node_modules/onnxruntime-web/package.json "$stage/node_modules/onnxruntime-web/"
  cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm "$stage/node_modules/onnxruntime-web/dist/"
  # The float64 reference logits take seconds (ResNet18) to tens of seconds (ResNet50) of one core:
  # computed here, not on the GPU machine's time. The weights (ResNet50's: 98 MiB) are drawn there.
  local arch
  for arch in resnet18 resnet50; do runner --prepare-data --arch "$arch" --size 224; done
  mkdir -p "$stage/bench/.build/data"
  cp bench/.build/data/reference-*-224.json "$stage/bench/.build/data/"
  tar -C "$stage" -cf - . | xz -T2 -6 > "$DEV/payload.tar.xz"
  if ! ls .gl/*.deb >/dev/null 2>&1; then
    # The device image has no Vulkan loader; the device README's recipe.
    mkdir -p .gl /tmp/amd64/partial
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update >/dev/null
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  du -sh "$DEV" .gl
  cat <<MSG
Prepared. On the GPU machine run:
  for f in .gl/*.deb; do dpkg -x \$f /; done; ldconfig; bash bench/device.sh run
(with .gl and $DEV copied beside the working tree)
MSG
}

run() {
  local out=${OUT:-/tmp/resnet-stream-device-out}
  mkdir -p "$out"
  if [ ! -f "$DEV/payload.tar.xz" ]; then
    echo "no $DEV/payload.tar.xz: run 'bash bench/device.sh prepare' here and carry $DEV" >&2
    exit 1
  fi
  if command -v xz >/dev/null; then
    xz -dc "$DEV/payload.tar.xz" | tar -xf - -C "$ROOT"
  else
    python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$DEV/payload.tar.xz" "$ROOT"
  fi
  if ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
    echo "no Vulkan loader (libvulkan.so.1): carry .gl and unpack it first (see the top of this file)" >&2
    exit 1
  fi
  local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv" ]; then
    export VK_DRIVER_FILES=$nv
  fi
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  echo "node $("$DEV/bin/node" --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}; $(nproc) cores" | tee "$out/device.log"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee -a "$out/device.log" || true
  set -o pipefail
  runner --only node-default --node-bench "$DEV/node-bench.mjs" --out "$out" --timeout-minutes "${BENCH_MINUTES:-5}" "$@" 2>&1 | tee -a "$out/device.log"
  # ResNet50 beside tfjs-webgpu and ORT Web on the same weights: batch 1 at 224 (its results are
  # named <date>-node-nvidia-resnet50.*). The runner reads an option's first occurrence, so these
  # win over the same options in "$@" (meant for ResNet18's run).
  if [ -z "${SKIP_RESNET50:-}" ]; then
    runner --arch resnet50 --batches none --only node-default --node-bench "$DEV/node-bench.mjs" --out "$out" \
      --timeout-minutes "${BENCH_MINUTES:-5}" "$@" 2>&1 | tee -a "$out/device.log"
  fi
  local day
  day=$(date -u +%F)
  # Where ResNet18's batch-1 forward time goes: upload, encode, submit, GPU, map, copy
  # (bench/node/overhead.ts; every sample in the JSON, the summary in the log).
  if [ -z "${SKIP_OVERHEAD:-}" ]; then
    timeout "${OVERHEAD_SECONDS:-90}" "$DEV/bin/node" "$DEV/overhead.mjs" --adapter default --size 224 --rounds 20 --warmups 3 \
      --modes api,api-map,split,profile > "$out/$day-overhead-node-nvidia.json" 2> >(tee -a "$out/device.log" >&2) || true
    timeout "${OVERHEAD_SECONDS:-90}" "$DEV/bin/node" "$DEV/overhead.mjs" --adapter default --size 224 --rounds 20 --warmups 3 \
      --taps all --modes api,split,profile > "$out/$day-overhead-node-nvidia-all-taps.json" 2> >(tee -a "$out/device.log" >&2) || true
  fi
  # The feature-visualisation step rate: a 64-channel batch at 224, per tap (bench/fv-node.ts).
  [ -n "${SKIP_FV:-}" ] && return 0
  timeout "${FV_SECONDS:-150}" "$DEV/bin/node" "$DEV/fv-bench.mjs" --adapter gpu --taps layer1.1.bn2,layer4.1 --batch 64 --size 224 \
    --warmup 2 --timed 10 --budget 40 --dataset-batch 8 --dataset-runs 5 --out "$out/$day-fv-node-nvidia.json" 2>&1 | tee -a "$out/device.log" || true
}

# The runner (bench/runner/main.ts), bundled for the device, with this machine's node there.
runner() {
  local node=node
  [ -x "$DEV/bin/node" ] && node=$DEV/bin/node
  "$node" --input-type=module -e '
    const { main } = await import(process.cwd() + "/bench/.build/device/runner.mjs");
    process.exit(await main(process.argv.slice(1), process.cwd()));
  ' -- "$@"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash bench/device.sh prepare | run [runner options]" >&2; exit 2 ;;
esac
