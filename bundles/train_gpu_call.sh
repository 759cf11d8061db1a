#!/usr/bin/env bash
# Train both segmentation bundles in 10-minute device calls on a GPU machine that has torch but not the other
# packages (their wheels are carried in .whl/ and installed under /tmp/site). One call:
#   BUDGET=560 bash bundles/train_gpu_call.sh
# renders the data into /tmp/run unless it is already there (bundles/train_phantom.sh with SKIP_TRAIN=1), trains
# both bundles for what the call has left and copies the best checkpoints and logs to $OUT. The next call, started
# while the machine is still held, finds the data and the last call's checkpoints in /tmp/run and fine-tunes from
# them (FINE_TUNE_FROM) at FINE_TUNE_LR; on a fresh machine it renders again and starts from the shipped weights.
# BUNDLES=mri (or dxa) trains one bundle only. The 0.5 weights (2026-12-02, one H200): `DXA_EPOCHS=45 MRI_EPOCHS=8 BUDGET=565` (data 270 s, training 135 s), then
# at once `DXA_EPOCHS=120 MRI_EPOCHS=24 FINE_TUNE_LR=0.0005 BUDGET=565` (data reused, 40 s; training 365 s).
# The MRI bundle's 0.6 weights (2026-12-02): `BUNDLES=mri MRI_WORKERS=14 N=40 DRR_CTS=24 MRI_EPOCHS=30 CACHE_S=90
# BUDGET=585` (its data had been rendered by a first call whose drr step overran; now a few CTs at a time), then at
# once `... MRI_EPOCHS=20 CACHE_S=70 FINE_TUNE_LR=0.0005 BUDGET=425`.
# The MRI bundle's 0.7 weights (2026-12-02, the first with tissue_contrast): `BUNDLES=mri MRI_WORKERS=14 N=40
# DRR_CTS=20 MRI_EPOCHS=30 CACHE_S=90 BUDGET=585` (data 274 s, 20 CTs' drr renders 195 s); the first call's checkpoint
# ships (later calls' were worse on the real check). Caching took over 2 minutes: give CACHE_S=150.
source "$(dirname "$0")/gpu_machine.sh"
export DEVICE=cuda WORKERS=16 DRR_CTS=${DRR_CTS:-16} DRR_STUDIES=4 SKIP_EVAL=1 MRI_VAL_INTERVAL=${MRI_VAL_INTERVAL:-2}
RUN=/tmp/run
TRAINED=(); for b in dxa mri; do [[ ",${BUNDLES:-dxa,mri}," == *,$b,* ]] && TRAINED+=(${b}_spine_segmentation); done
# data first (train_phantom.sh reuses it), then as much training as the call leaves
SKIP_TRAIN=1 timeout 360 bash bundles/train_phantom.sh $RUN ${N:-64} 1 > $OUT/data.log 2>&1; echo "data rc=$? at $SECONDS s"
if [ -f $RUN/${TRAINED[0]}/model.pt ]; then  # a previous call on this machine: go on from its checkpoints
    rm -rf $RUN/previous; mkdir $RUN/previous
    for b in "${TRAINED[@]}"; do
        mkdir $RUN/previous/$b; mv $RUN/$b/model.pt $RUN/previous/$b/; cp $RUN/$b/train.log $OUT/${b}_previous_train.log; done
    export FINE_TUNE_FROM=$RUN/previous; echo "fine-tuning from the previous call's checkpoints"
else
    export FINE_TUNE=1; echo "fine-tuning from the shipped weights"
fi
# the time limit starts once the MRI training volumes are cached (CACHE_S, about 2 min on 16 cores)
T=$(( ${BUDGET:-560} - SECONDS - 40 - ${CACHE_S:-120} )); echo "training for $T s"
timeout $(( T + 30 + ${CACHE_S:-120} )) bash bundles/train_phantom.sh $RUN ${N:-64} $T > $OUT/train.log 2>&1; echo "train rc=$? at $SECONDS s"
for b in "${TRAINED[@]}"; do  # CPU tensors: the weights must load without CUDA
  python3 -c "import sys, torch; s = torch.load(sys.argv[1], map_location='cpu', weights_only=True); torch.save(s, sys.argv[2])" \
      $RUN/$b/model.pt $OUT/${b}_model.pt
  cp $RUN/$b/train.log $OUT/${b}_train.log; done
cp $RUN/timings.log $OUT/ 2>/dev/null
grep -h "val_mean_dice best" $RUN/*/train.log | tail -4 | cut -c1-160; cat $RUN/timings.log
