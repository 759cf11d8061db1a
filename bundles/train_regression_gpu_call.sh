#!/usr/bin/env bash
# Train the curve regressor in one 10-minute call on a GPU machine that has torch but not the other
# packages (their wheels are carried in .whl/ and installed under /tmp/site). It renders the data
# (bundles/train_regression.sh with no model), trains the shipped configuration and the two ablations at the same
# time for what the call has left, evaluates them on the test split, and returns the shipped model's weights in fp16
# (split in 15 MB parts: the machine returns files of at most 16 MiB; `cat r18.pt.part_* > model.pt`) and the logs.
#   BUDGET=560 bash bundles/train_regression_gpu_call.sh
# With COHORT=DIR (a `monai-spine cohort --targets-from-truth` folder carried with the call) it trains on that and
# renders nothing, e.g. COHORT=.regdata/cohort made on a CPU machine by `DEVICE=cpu WORKERS=2 DRR_CTS=3
# DRR_STUDIES=6 MODELS="" bundles/train_regression.sh .regdata 160 1` (carry it with the call). No run of this script
# has returned weights yet: the shipped 0.1 weights were trained on CPU (the bundle's README).
source "$(dirname "$0")/gpu_machine.sh"
export DEVICE=cuda WORKERS=16 LEARNING_RATE=${LEARNING_RATE:-3e-4} EPOCHS=${EPOCHS:-400} LR_STEP_EPOCHS=${LR_STEP_EPOCHS:-120}
RUN=/tmp/reg
if [ -n "${COHORT:-}" ]; then  # a cohort made on another machine and carried (the GPU machine lacks SimpleITK)
    mkdir -p $RUN && cp -r "$COHORT" $RUN/cohort
else
    MODELS="" timeout 330 bash bundles/train_regression.sh $RUN ${N:-400} 1 > $OUT/data.log 2>&1; echo "data rc=$? at $SECONDS s"
fi
T=$(( ${BUDGET:-560} - SECONDS - 45 )); echo "training for $T s"
MODELS=${MODELS:-"resnet18_bot resnet50_bot resnet50"} timeout $(( T + 30 )) bash bundles/train_regression.sh $RUN ${N:-400} $T \
    > $OUT/train.log 2>&1; echo "train rc=$? at $SECONDS s"
python3 - <<'PY'
import torch
state = torch.load("/tmp/reg/resnet18_bot/model.pt", map_location="cpu", weights_only=True)
torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, "/tmp/reg/r18.pt")
PY
split -b 15m /tmp/reg/r18.pt $OUT/r18.pt.part_
(cd $RUN && tar -czf $OUT/logs.tar.gz timings.log cohort/dataset.json */train.log */eval.log */eval/*.csv *.log 2>/dev/null)
cat $RUN/timings.log; grep -h "best value" $RUN/*/train.log | tail -6 | cut -c1-160
