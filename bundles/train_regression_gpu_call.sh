#!/usr/bin/env bash
# Train the curve regressor and its ablations in 10-minute device calls on a GPU machine that has torch but not the
# other packages (their wheels are carried in .whl/ and installed under /tmp/site; SimpleITK is not needed: the
# targets come from the truth). One call:
#   BUDGET=560 bash bundles/train_regression_gpu_call.sh
# renders the data into /tmp/reg unless it is already there (bundles/train_regression.sh with no model: phantom
# studies and `drr` renders of phantom CTs, then `monai-spine cohort --targets-from-truth`), trains the shipped
# configuration and the two ablations at the same time for what the call has left, copies the shipped model's
# weights out in fp16 CPU tensors (split in 15 MB parts: the machine returns files of at most 16 MiB;
# `cat r18.pt.part_* > model.pt`), then evaluates every model on the test split and returns the logs. The next call,
# started while the machine is still held, finds the data and the checkpoints in /tmp/reg and goes on from them
# (FINE_TUNE_FROM) at its own LEARNING_RATE: the step decay runs across calls. FROM_SHIPPED=1 starts the
# first call from the shipped weights (fp16, loaded into the fp32 network) instead of afresh. RETURN_R50=1 also returns the
# ResNet-50 + transformer's weights (4 parts). N, DRR_CTS, DRR_STUDIES size the data, DATA_S (default 360) limits its
# rendering; a call that runs out of it leaves what it finished for the next call on the machine.
source "$(dirname "$0")/gpu_machine.sh"
export DEVICE=${DEVICE:-cuda} WORKERS=${WORKERS:-16} EPOCHS=${EPOCHS:-100000} LR_STEP_EPOCHS=${LR_STEP_EPOCHS:-100000}
export LEARNING_RATE=${LEARNING_RATE:-3e-4} DRR_CTS=${DRR_CTS:-16} DRR_STUDIES=${DRR_STUDIES:-10}
RUN=/tmp/reg N=${N:-500} MODELS=${MODELS:-"resnet18_bot resnet50_bot resnet50"}
MODELS="" timeout ${DATA_S:-360} bash bundles/train_regression.sh $RUN $N 1 > $OUT/data.log 2>&1; echo "data rc=$? at $SECONDS s"
if [ -f $RUN/resnet18_bot/model.pt ]; then  # a previous call on this machine: go on from its checkpoints
    rm -rf $RUN/previous; mkdir $RUN/previous
    for m in $MODELS; do mkdir $RUN/previous/$m; mv $RUN/$m/model.pt $RUN/$m/train.log $RUN/previous/$m/ 2>/dev/null; done
    export FINE_TUNE_FROM=$RUN/previous; echo "going on from the previous call's checkpoints"
elif [ "${FROM_SHIPPED:-0}" = 1 ]; then  # the first call fine-tunes the shipped configuration's weights
    mkdir -p $RUN/shipped/resnet18_bot && cp bundles/dxa_spine_curve_regression/models/model.pt $RUN/shipped/resnet18_bot/
    export FINE_TUNE_FROM=$RUN/shipped; echo "fine-tuning the shipped weights"
fi
T=$(( ${BUDGET:-560} - SECONDS - 100 )); echo "training for $T s"
EVALUATE=0 MODELS=$MODELS timeout $(( T + 40 )) bash bundles/train_regression.sh $RUN $N $T > $OUT/train.log 2>&1
echo "train rc=$? at $SECONDS s"
half() {  # model, name: its best checkpoint as fp16 CPU tensors in 15 MB parts
    python3 -c "import sys, torch
s = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
torch.save({k: v.half() if v.is_floating_point() else v for k, v in s.items()}, sys.argv[2])" $RUN/$1/model.pt $RUN/$2.pt
    split -b 15m $RUN/$2.pt $OUT/$2.pt.part_
}
half resnet18_bot r18
[ "${RETURN_R50:-0}" = 1 ] && half resnet50_bot r50
TRAIN=0 MODELS=$MODELS timeout $(( ${BUDGET:-560} - SECONDS - 10 )) bash bundles/train_regression.sh $RUN $N 0 > $OUT/eval.log 2>&1
(cd $RUN && tar -czf $OUT/logs.tar.gz timings.log cohort/dataset.json */train.log */eval.log */eval/*.csv previous/*/train.log 2>/dev/null)
cat $RUN/timings.log; grep -h "best value" $RUN/*/train.log | tail -6 | cut -c1-160
