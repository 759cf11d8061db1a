#!/usr/bin/env bash
# Train both spine segmentation bundles on a phantom cohort and evaluate them on its held-out test split.
#
#   bundles/train_phantom.sh OUT [N_STUDIES] [TRAIN_SECONDS]
#
# OUT/data: the cohort (`monai-spine phantom`, DXA + MRI files only); OUT/<bundle>/: model.pt, train.log and the
# test-set evaluation (metrics.csv, per-image *_raw.csv). Both trainings share one GPU and run at the same time,
# each stopped after TRAIN_SECONDS (best validation checkpoint kept). Set DEVICE=cpu and small numbers to try
# it on a laptop; SKIP_TRAIN=1 or SKIP_EVAL=1 run one half only; FINE_TUNE=1 starts from the bundles' shipped
# weights (--load_pretrain True --ckpt_path, learning rate FINE_TUNE_LR, default 0.001). The shipped weights were
# trained with the defaults on one H200 (bundle READMEs). The bundles are this folder's, or, when this script is
# run from an installed package, those of `monai_spine.bundles`.
set -euo pipefail
OUT=${1:?usage: bundles/train_phantom.sh OUT [N_STUDIES] [TRAIN_SECONDS]}
N=${2:-300}
SECONDS_LIMIT=${3:-270}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
DATA=$OUT/data
mkdir -p "$OUT"

[ -f "$DATA/dataset.json" ] || $PY -m monai_spine phantom --n "$N" --seed 2027 --out "$DATA" --modalities dxa,mri \
    --dxa-pixel 0.5:2.5 --scoliosis-share 0.5 --device "$DEVICE" --workers "$WORKERS"

train() {  # bundle, extra overrides...
    local b=$1; shift
    mkdir -p "$OUT/$b"
    [ "${FINE_TUNE:-0}" = 1 ] && set -- "$@" --load_pretrain True --ckpt_path "$HERE/$b/models/model.pt" \
        --learning_rate "${FINE_TUNE_LR:-0.001}"
    $PY -m monai.bundle run --bundle_root "$HERE/$b" --config_file "$HERE/$b/configs/train.json" \
        --meta_file "$HERE/$b/configs/metadata.json" --logging_file "$HERE/$b/configs/logging.conf" \
        --dataset_dir "$DATA" --ckpt_dir "$OUT/$b" --max_seconds "$SECONDS_LIMIT" "$@" > "$OUT/$b/train.log" 2>&1
}
evaluate() {  # bundle
    local b=$1
    $PY -m monai.bundle run --bundle_root "$HERE/$b" \
        --config_file "['$HERE/$b/configs/train.json','$HERE/$b/configs/evaluate.json']" \
        --meta_file "$HERE/$b/configs/metadata.json" --logging_file "$HERE/$b/configs/logging.conf" \
        --dataset_dir "$DATA" --output_dir "$OUT/$b/eval" --ckpt_path "$OUT/$b/model.pt" --num_workers "$WORKERS" \
        > "$OUT/$b/evaluate.log" 2>&1
}

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
    train dxa_spine_segmentation --num_workers "$(( WORKERS / 2 ))" --epochs "${DXA_EPOCHS:-80}" &
    train mri_spine_segmentation --num_workers "$(( WORKERS * 3 / 8 ))" --epochs "${MRI_EPOCHS:-16}" --val_interval 4 &
    wait
fi
[ "${SKIP_EVAL:-0}" = 1 ] && exit 0
evaluate dxa_spine_segmentation
evaluate mri_spine_segmentation
for b in dxa_spine_segmentation mri_spine_segmentation; do echo "$b: $(tr '\n' ' ' < "$OUT/$b/eval/metrics.csv")"; done
