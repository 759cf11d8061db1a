#!/usr/bin/env bash
# The 0.4 weights of both segmentation bundles came from this, one 10-minute call on a GPU machine that has torch
# but not the other packages: their wheels are carried in .whl/ and installed under /tmp/site. It renders the data
# (bundles/train_phantom.sh with SKIP_TRAIN=1), then trains both bundles for what the call has left, fine-tuning
# the shipped weights, and copies the best checkpoints and logs to $OUT:
#   BUDGET=535 bash bundles/train_gpu_call.sh
# Ran on 2026-12-01 (one NVIDIA H200, 16 CPU cores): data 249 s (64 phantom studies with soft tissue, 12 phantom
# CTs x 4 drr renders), training 136 s + caching, stopped by the call's limit (the checkpoints are the best
# validation ones).
set -u
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD
ln -s ../bundles monai_spine/bundles; ln -s ../transforms monai_spine/transforms
export DEVICE=cuda WORKERS=16 DRR_CTS=${DRR_CTS:-12} DRR_STUDIES=4 FINE_TUNE=1 SKIP_EVAL=1
# data first (train_phantom.sh reuses it), then as much training as the call leaves
SKIP_TRAIN=1 timeout 330 bash bundles/train_phantom.sh /tmp/run ${N:-64} 1 > $OUT/data.log 2>&1; echo "data rc=$? at $SECONDS s"
T=$(( ${BUDGET:-555} - SECONDS - 150 )); echo "training for $T s"
timeout $(( T + 140 )) bash bundles/train_phantom.sh /tmp/run ${N:-64} $T > $OUT/train.log 2>&1; echo "train rc=$? at $SECONDS s"
for b in dxa_spine_segmentation mri_spine_segmentation; do
  cp /tmp/run/$b/model.pt $OUT/${b}_model.pt; cp /tmp/run/$b/train.log $OUT/${b}_train.log; done
cp /tmp/run/timings.log /tmp/run/dataset_drr.json /tmp/run/dataset_mri.json $OUT/ 2>/dev/null
grep -h "val_mean_dice best" /tmp/run/*/train.log | tail -4 | cut -c1-160; cat /tmp/run/timings.log
