#!/usr/bin/env bash
# Train the DXA curve regressor (and its ablations) on rendered studies, targets from their truth, and evaluate
# each model on the held-out test split.
#
#   bundles/train_regression.sh OUT [N_STUDIES] [TRAIN_SECONDS]
#
# OUT/phantom_soft, OUT/phantom: N_STUDIES/2 phantom studies each (DXA only; with and without --soft-tissue), OUT/ct
# and OUT/drr/study_NNNN: DRR_CTS phantom CTs (another seed, default 8; CT_SPACING, mm, sets their voxel size) and
# DRR_STUDIES `monai-spine drr` DXA renders of each (default 6; bundles/drr_phantom_cts.sh); OUT/cohort:
# `monai-spine cohort --targets-from-truth` of all of them (crops and targets.json, each study keeping its split;
# crops whose pixel size follows the spine's height if the bundle's inference.json sets crop_spine_fill; CUT_FIELDS,
# default 2 (the shipped weights' recipe), more pairs per training and validation study cut to a random lumbar, chest
# or thoraco-lumbar field;
# SOFT_RESIDUAL, default 0, the largest share of each study's soft-tissue image added to its training DXA;
# PHANTOM_OPTIONS adds `monai-spine phantom` options to the phantom studies and CT_PHANTOM_OPTIONS to the phantom
# CTs (e.g. "--lordosis-skew 1.5:2.5" for both: lordoses turning mostly in L4-S1, as adults' do);
# drr studies train only). OUT/<model>/: model.pt (best validation
# mean absolute error), train.log, eval/ (test split, `configs/evaluate.json`). MODELS (default "resnet18_bot"; ""
# renders the data only) lists the models trained at the same time on one GPU, each stopped after TRAIN_SECONDS:
#   resnet18_bot  ResNet-18 + bottleneck transformer (the shipped configuration, train.json)
#   resnet50_bot  ResNet-50 + bottleneck transformer (the published configuration, + configs/resnet50_bot.json)
#   resnet50      ResNet-50 without the transformer (ablation, + configs/resnet50.json)
# LEARNING_RATE (default the config's 1e-4), EPOCHS, LR_STEP_EPOCHS and BATCH_SIZE tune a short run;
# FINE_TUNE_FROM=DIR starts each model from DIR/<model>/model.pt (a previous run's); TRAIN=0 or EVALUATE=0 skips that step. Set DEVICE=cpu WORKERS=2 and small numbers to try it on a laptop. Needs monai-spine installed (or
# this checkout on PYTHONPATH), monai, pytorch-ignite, fire and nibabel.
set -euo pipefail
OUT=${1:?usage: bundles/train_regression.sh OUT [N_STUDIES] [TRAIN_SECONDS]}
N=${2:-400}
SECONDS_LIMIT=${3:-300}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-16}
DRR_CTS=${DRR_CTS:-8}
DRR_STUDIES=${DRR_STUDIES:-6}
MODELS=${MODELS-resnet18_bot}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/dxa_spine_curve_regression
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "[$(date +%T) +${SECONDS}s] $*" | tee -a "$OUT/timings.log"; }
source "$HERE/drr_phantom_cts.sh"

phantom() {  # folder, seed, count, options...
    local folder=$1 seed=$2 n=$3; shift 3
    [ -f "$OUT/$folder/dataset.json" ] || $PY -m monai_spine phantom --n "$n" --seed "$seed" --out "$OUT/$folder" \
        --dxa-pixel 0.5:2.5 --scoliosis-share 0.5 --device "$DEVICE" --workers "$WORKERS" "$@" > "$OUT/$folder.log"
}
render() {  # the phantom studies and the drr renders of phantom CTs
    phantom phantom_soft 4041 $((N / 2)) --modalities dxa --soft-tissue ${PHANTOM_OPTIONS:-}
    phantom phantom 4043 $((N - N / 2)) --modalities dxa ${PHANTOM_OPTIONS:-}
    log "phantom: $N studies"
    if [ "$DRR_CTS" -gt 0 ]; then
        drr_phantom_cts "$OUT" 4042 4042 "$DRR_CTS" "$DRR_STUDIES" dxa || { log "drr failed"; exit 1; }
        log "drr: $DRR_CTS CTs x $DRR_STUDIES studies"
    fi
}
if [ ! -f "$OUT/cohort/dataset.json" ]; then  # a cohort already there (e.g. made on another machine) is used as is
    render
    datalists=(--datalist "$OUT/phantom_soft/dataset.json" --datalist "$OUT/phantom/dataset.json")
    for d in "$OUT"/drr/*/dataset.json; do [ -f "$d" ] && datalists+=(--datalist "$d"); done
    fill=$($PY -c "import json, sys; print(json.load(open(sys.argv[1])).get('crop_spine_fill') or '')" \
        "$B/configs/inference.json")
    $PY -m monai_spine cohort "${datalists[@]}" --targets-from-truth --out "$OUT/cohort" --workers "$WORKERS" \
        ${fill:+--crop-fill "$fill"} --cut-fields "${CUT_FIELDS:-2}" --soft-residual "${SOFT_RESIDUAL:-0}"
    # drr renders of the CTs train only: the test split stays phantom studies of the cohort's seeds
    $PY - "$OUT/cohort/dataset.json" <<'PY'
import json, sys
path = sys.argv[1]
d = json.load(open(path))
moved = [e for e in d["test"] if e["id"].startswith("study_")]
d["test"] = [e for e in d["test"] if not e["id"].startswith("study_")]
d["training"] += moved
json.dump(d, open(path, "w"), indent=1)
PY
    log "cohort: $(grep -c '"id"' "$OUT/cohort/dataset.json") entries"
fi

configs() {  # model, base configs...: the base config files, then the model's own (configs/<model>.json) if any
    local m=$1 files=""; shift
    for c in "$@"; do files+="'$B/configs/$c.json',"; done
    [ -f "$B/configs/$m.json" ] && files+="'$B/configs/$m.json',"
    echo "[${files%,}]"
}
train() {  # model
    local m=$1 ckpt=${FINE_TUNE_FROM:+$FINE_TUNE_FROM/$1/model.pt}
    [ -f "$ckpt" ] || ckpt=""  # a model without a previous checkpoint starts afresh
    mkdir -p "$OUT/$m"
    # shellcheck disable=SC2086
    $PY -m monai.bundle run --bundle_root "$B" --config_file "$(configs "$m" train)" \
        --meta_file "$B/configs/metadata.json" --logging_file "$B/configs/logging.conf" \
        --dataset_dir "$OUT/cohort" --ckpt_dir "$OUT/$m" --max_seconds "$SECONDS_LIMIT" \
        --num_workers "$((WORKERS / $(echo "$MODELS" | wc -w)))" --epochs "${EPOCHS:-200}" \
        ${BATCH_SIZE:+--batch_size $BATCH_SIZE} ${LEARNING_RATE:+--learning_rate $LEARNING_RATE} ${LR_STEP_EPOCHS:+--lr_step_epochs $LR_STEP_EPOCHS} \
        ${ckpt:+--load_pretrain True --ckpt_path $ckpt} > "$OUT/$m/train.log" 2>&1
}
evaluate() {  # model
    local m=$1
    # shellcheck disable=SC2086
    $PY -m monai.bundle run --bundle_root "$B" --config_file "$(configs "$m" train evaluate)" \
        --meta_file "$B/configs/metadata.json" --logging_file "$B/configs/logging.conf" \
        --dataset_dir "$OUT/cohort" --output_dir "$OUT/$m/eval" --ckpt_path "$OUT/$m/model.pt" \
        --num_workers "$WORKERS" > "$OUT/$m/eval.log" 2>&1
    log "$m test: $(tr '\n' ' ' < "$OUT/$m/eval/metrics.csv")"
}
if [ "${TRAIN:-1}" != 0 ]; then
    pids=()
    for m in $MODELS; do train "$m" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid" || log "a training failed: see $OUT/*/train.log"; done
    log "trained $MODELS ($SECONDS_LIMIT s limit)"
fi
[ "${EVALUATE:-1}" = 0 ] && exit 0
for m in $MODELS; do [ -f "$OUT/$m/model.pt" ] && evaluate "$m"; done
log "evaluated"
