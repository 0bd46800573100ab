#!/bin/bash
# Queue the array of 8 shards, then the merge to run after all of them succeed.
#   SHARDS=8 WEIGHTS=... IMAGES=... RUN=... bash submit.sh
set -euo pipefail
cd "$(dirname "$0")"
SHARDS=${SHARDS:-8}
export SHARDS
array=$(sbatch --parsable --export=ALL --array=0-$((SHARDS - 1)) analyze-array.sh)
sbatch --export=ALL --dependency=afterok:"${array%%;*}" merge.sh
