#!/bin/bash
# The analysis in 8 shards as a SLURM job array: task K runs `analyze ... --shard auto/8`, which reads
# SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN), and writes $RUN/shard-K on the shared file system.
# A task that fails or is preempted is resubmitted with the same command and resumes from its journal
# (sbatch --array=K analyze-array.sh). Submit with submit.sh, which queues merge.sh after the array.
#
# Settings (environment, with these defaults): SHARDS (the array's task count), RESNET_STREAM (the
# command), WEIGHTS, IMAGES, RUN, OPTIONS (the analysis's options, the same for every task).
#SBATCH --job-name=resnet-stream
#SBATCH --array=0-7
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=resnet-stream-%A_%a.log
set -euo pipefail

SHARDS=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:-8}}
read -r -a CLI <<< "${RESNET_STREAM:-resnet-stream}"
WEIGHTS=${WEIGHTS:-/shared/weights/resnet18-f37072fd.pth}
IMAGES=${IMAGES:-/shared/imagenet/val}
RUN=${RUN:-/shared/runs/imagenet-val}
read -r -a OPTS <<< "${OPTIONS:---top-k 9 --blocks 1.1,2.0,2.1,3.0,3.1,4.0,4.1 --adapter gpu}"
K=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))

"${CLI[@]}" analyze --weights "$WEIGHTS" --images "$IMAGES" "${OPTS[@]}" --shard "auto/$SHARDS" --out "$RUN/shard-$K"
