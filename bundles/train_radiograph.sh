#!/usr/bin/env bash
# Train the radiograph spine segmentation bundle (AP and lateral, one network) on phantom bi-planar studies and
# `drr` renders of phantom CTs, fine-tuned from the DXA bundle's weights, and evaluate it per view on a phantom
# test set of another seed.
#
#   bundles/train_radiograph.sh OUT [N_STUDIES] [TRAIN_SECONDS]
#
# OUT/train: N_STUDIES phantom studies (`monai-spine phantom --modalities biplanar --soft-tissue`, seed 2031; all
# splits but validation train); OUT/ct and OUT/drr/study_NNNN: DRR_CTS phantom CTs (seed 2033, default 2) and
# DRR_STUDIES `monai-spine drr --modalities biplanar` studies of each (default 4; they train); OUT/test: N_TEST
# phantom studies of seed 2032 (default 10), the test set; OUT/dataset.json: the three merged. CT_SPACING (mm) sets
# the phantom CTs' voxel size (clinical CTs, like the real-anatomy check's, are 3 mm or coarser); the CTs are
# rendered WORKERS / 2 at a time (bundles/drr_phantom_cts.sh). Measured on the H200 machine (16 cores, 2026-12-02,
# before that limit): 8 `drr` studies each of 3 mm phantom CTs took about 5 minutes, so 24 CTs × 8 studies and 150
# phantom studies did not fit one 10-minute call; with it (2026-12-03) 60 phantom studies, 12 CTs × 8 `drr` studies
# and 4 test studies took 226 s. OUT/model/: model.pt
# (best validation Dice), train.log, eval_ap/ and eval_lateral/ (`configs/evaluate.json` with --views, Dice and
# centre-line error per image). Every AP and every lateral is one training image (`load_radiograph_datalist`).
# FINE_TUNE_FROM=FILE starts from those weights (default: the DXA bundle's models/model.pt; FINE_TUNE_FROM= starts
# afresh); LEARNING_RATE and BATCH_SIZE (default the config's; BATCH_SIZE=4 on a CPU gives more steps per minute);
# EPOCHS (default 20) sets the cosine schedule's length, TRAIN_SECONDS stops earlier (best checkpoint kept). SKIP_TRAIN=1 evaluates OUT/model/model.pt only; data
# already in OUT is reused; SKIP_EVAL=1 skips the evaluation (SKIP_TRAIN=1 SKIP_EVAL=1 renders the data only).
# DEVICE (default cuda) and WORKERS (default 16): set DEVICE=cpu WORKERS=1 on a laptop. PHANTOM_OPTIONS adds
# `monai-spine phantom` options to the training studies only (the test set stays the standard phantom), e.g.
# PHANTOM_OPTIONS="--radiograph-bone-scale 0.3:1 --vertebral-body-depth 0.9:1.4".
# Needs monai-spine installed (or this checkout on PYTHONPATH), monai, pytorch-ignite, fire, nibabel and pydicom.
set -euo pipefail
OUT=${1:?usage: bundles/train_radiograph.sh OUT [N_STUDIES] [TRAIN_SECONDS]}
N=${2:-40}
SECONDS_LIMIT=${3:-900}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-16}
DRR_CTS=${DRR_CTS:-2}
DRR_STUDIES=${DRR_STUDIES:-4}
N_TEST=${N_TEST:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/radiograph_spine_segmentation
FINE_TUNE_FROM=${FINE_TUNE_FROM-$HERE/dxa_spine_segmentation/models/model.pt}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "[$(date +%T) +${SECONDS}s] $*" | tee -a "$OUT/timings.log"; }
source "$HERE/drr_phantom_cts.sh"

phantom() {  # folder, seed, count, modalities, then extra `phantom` options
    # shellcheck disable=SC2086
    [ -f "$OUT/$1/dataset.json" ] || $PY -m monai_spine phantom --n "$3" --seed "$2" --out "$OUT/$1" \
        --modalities "$4" --soft-tissue --scoliosis-share 0.5 --device "$DEVICE" --workers "$WORKERS" ${5:-} \
        > "$OUT/$1.log" 2>&1
}
if [ ! -f "$OUT/dataset.json" ]; then
    phantom train 2031 "$N" biplanar "${PHANTOM_OPTIONS:-}"
    sources=("$OUT/train/dataset.json")
    if [ "$DRR_CTS" -gt 0 ]; then
        drr_phantom_cts "$OUT" 2033 2033 "$DRR_CTS" "$DRR_STUDIES" biplanar || { log "drr failed"; exit 1; }
        sources+=("$OUT"/drr/study_*/dataset.json)
    fi
    phantom test 2032 "$N_TEST" biplanar
    log "data: $N phantom studies, $DRR_CTS CTs x $DRR_STUDIES drr studies, $N_TEST test studies"
    # training studies' test splits train too; the test set is the other seed's cohort, every study of it
    $PY - "$OUT" "$OUT/test/dataset.json" "${sources[@]}" <<'PY'
import sys
from pathlib import Path
from monai_spine.io.datalist import merge_datalists
out, test, sources = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
merge_datalists(out / "dataset.json", {**{s: {"test": "training"} for s in sources},
                                       test: {"training": "test", "validation": "test"}},
                "radiograph bundle: phantom bi-planar studies + drr renders of phantom CTs; test: another seed")
PY
fi

mkdir -p "$OUT/model"
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
    # shellcheck disable=SC2086
    $PY -m monai.bundle run --bundle_root "$B" --config_file "$B/configs/train.json" \
        --meta_file "$B/configs/metadata.json" --logging_file "$B/configs/logging.conf" \
        --dataset_dir "$OUT" --ckpt_dir "$OUT/model" --max_seconds "$SECONDS_LIMIT" --num_workers "$WORKERS" \
        --device "\$torch.device('$DEVICE')" --epochs "${EPOCHS:-20}" ${LEARNING_RATE:+--learning_rate $LEARNING_RATE} \
        ${BATCH_SIZE:+--batch_size $BATCH_SIZE} \
        ${FINE_TUNE_FROM:+--load_pretrain True --ckpt_path $FINE_TUNE_FROM} > "$OUT/model/train.log" 2>&1
    log "trained ($SECONDS_LIMIT s limit): $(grep -o 'val_mean_dice best value: [0-9.]*' "$OUT/model/train.log" | tail -1)"
fi
[ "${SKIP_EVAL:-0}" = 1 ] && exit 0
for view in ap lateral; do
    $PY -m monai.bundle run --bundle_root "$B" --config_file "['$B/configs/train.json','$B/configs/evaluate.json']" \
        --meta_file "$B/configs/metadata.json" --logging_file "$B/configs/logging.conf" --dataset_dir "$OUT" \
        --output_dir "$OUT/model/eval_$view" --ckpt_path "$OUT/model/model.pt" --views "['$view']" \
        --device "\$torch.device('$DEVICE')" --num_workers "$WORKERS" > "$OUT/model/eval_$view.log" 2>&1
    log "test $view: $(tr '\n' ' ' < "$OUT/model/eval_$view/metrics.csv")"
done
