#!/usr/bin/env bash
# Train the radiograph spine segmentation bundle in 10-minute device calls on a GPU machine that has torch but not
# the other packages (their wheels are carried in .whl/ and installed under /tmp/site). One call:
#   BUDGET=560 bash bundles/train_radiograph_gpu_call.sh
# renders the data into /tmp/rad unless it is already there (bundles/train_radiograph.sh: N phantom bi-planar
# studies, DRR_CTS phantom CTs × DRR_STUDIES `drr` renders, the seed-2032 test set), trains for what the call has
# left (nothing if the data took it all: call again while the machine is held), copies the best checkpoint out as
# CPU tensors and evaluates it per view on the test set. The first training fine-tunes from the shipped weights;
# the next call, started while the machine is still held, goes on from the last call's checkpoint
# (FINE_TUNE_FROM) at its own LEARNING_RATE.
# Version 0.3.0 (2026-12-02, one H200): the defaults' data (400 studies, 16 CTs × 5 renders) took one whole call,
# then at once `EPOCHS=80 BUDGET=570` trained 30 epochs of that schedule (269 s) from 0.2.
# 2026-12-03: `N=80 DRR_CTS=14 DRR_STUDIES=8 CT_SPACING=3 N_TEST=4` took 286 s of data (AEC views), leaving 204 s of
# training in a BUDGET=560 call; the second call at once trained 392 s (weights not shipped: bundle README).
# 2026-12-05 (one H100): the same data with CT_PHANTOM_OPTIONS and PHANTOM_OPTIONS widening the vertebral bodies took
# 259 s, leaving 231 s of training; a second call trained all 40 epochs in 187 s (weights not shipped:
# docs/real_anatomy.md).
source "$(dirname "$0")/gpu_machine.sh"
export DEVICE=cuda WORKERS=16 DRR_CTS=${DRR_CTS:-16} DRR_STUDIES=${DRR_STUDIES:-5} EPOCHS=${EPOCHS:-60}
export LEARNING_RATE=${LEARNING_RATE:-1e-3} BATCH_SIZE=${BATCH_SIZE:-16}
RUN=/tmp/rad N=${N:-400}
SKIP_TRAIN=1 SKIP_EVAL=1 timeout $(( ${BUDGET:-560} - 40 )) bash bundles/train_radiograph.sh $RUN "$N" 1 > $OUT/data.log 2>&1
echo "data rc=$? at $SECONDS s"
[ -f $RUN/dataset.json ] || { echo "the data is not finished: call again while the machine is held"; exit 1; }
if [ -f $RUN/model/model.pt ]; then  # a previous call on this machine: go on from its checkpoint
    mv $RUN/model/model.pt $RUN/previous.pt; cp $RUN/model/train.log $OUT/previous_train.log
    export FINE_TUNE_FROM=$RUN/previous.pt; echo "going on from the previous call's checkpoint"
else
    export FINE_TUNE_FROM=$PWD/bundles/radiograph_spine_segmentation/models/model.pt; echo "fine-tuning the shipped weights"
fi
T=$(( ${BUDGET:-560} - SECONDS - 70 )); echo "training for $T s"
[ $T -gt 60 ] || { echo "too little time left to train: call again while the machine is held"; exit 1; }
timeout $(( T + 60 )) bash bundles/train_radiograph.sh $RUN "$N" $T > $OUT/train.log 2>&1; echo "train rc=$? at $SECONDS s"
python3 -c "import sys, torch; s = torch.load(sys.argv[1], map_location='cpu', weights_only=True); torch.save(s, sys.argv[2])" \
    $RUN/model/model.pt $OUT/model.pt  # CPU tensors: the weights must load without CUDA
cp $RUN/model/train.log $RUN/timings.log $OUT/ 2>/dev/null
cp $RUN/model/eval_ap/metrics.csv $OUT/eval_ap.csv 2>/dev/null; cp $RUN/model/eval_lateral/metrics.csv $OUT/eval_lateral.csv 2>/dev/null
grep -o "val_mean_dice best value: [0-9.]*" $RUN/model/train.log | tail -1; cat $RUN/timings.log
