#!/usr/bin/env bash
# Train both spine segmentation bundles on a phantom cohort (and `drr` renders of phantom CTs) and evaluate them on
# the cohort's held-out test split.
#
#   bundles/train_phantom.sh OUT [N_STUDIES] [TRAIN_SECONDS]
#
# OUT/data: the cohort (`monai-spine phantom`, DXA + MRI files only). With DRR_CTS=K (default 0) also OUT/ct (K
# CT-only phantoms of another seed) and OUT/drr/ct_NNNN (DRR_STUDIES `monai-spine drr` studies of each CT, DXA and
# MRI-like volumes, default 4): they join both bundles' training and validation (the phantom test split stays the
# test set) through OUT/dataset_drr.json (DXA bundle) and OUT/dataset_mri.json (MRI bundle: each study once with
# its in-phase volume as the image and once more with each of the MRI_EXTRA_CONTRASTS it has: default t2, which drr
# studies have; with t2,water the phantom studies' water volumes join too). The phantom's vertebra labels must be
# TotalSegmentator ids (DRR_LABEL_SCHEME, default totalseg); CT_SPACING (mm) sets the phantom CTs' voxel size
# (default the phantom's 2.5 mm; clinical CTs like the real-anatomy check's are 3 mm or coarser). PHANTOM_OPTIONS adds
# `monai-spine phantom` options to the cohort and CT_PHANTOM_OPTIONS to the phantom CTs (e.g. "--lordosis-skew
# 1.5:2.5"). OUT/<bundle>/:
# model.pt, train.log and the test-set evaluation (eval/metrics.csv, per-image *_raw.csv); the MRI bundle is also
# evaluated on the test split's water and fat images (eval_water/, eval_fat/).
#
# Both trainings share one GPU and run at the same time, each stopped after TRAIN_SECONDS (best validation
# checkpoint kept). FINE_TUNE=1 starts from the bundles' shipped weights (--load_pretrain True --ckpt_path, learning
# rate FINE_TUNE_LR, default 0.001); FINE_TUNE_FROM=DIR starts from DIR/<bundle>/model.pt instead (a previous run's
# OUT). BUNDLES=dxa or BUNDLES=mri trains and evaluates one bundle only (default dxa,mri); MRI_VAL_INTERVAL (default
# 4 epochs), MRI_WORKERS (default 3/8 of WORKERS) and MRI_CACHE_RATE (default the config's 1.0: every volume in memory) tune the MRI training for a
# small machine. SKIP_TRAIN=1 or SKIP_EVAL=1 run one half only; data already in OUT is reused. RESULTS=FILE.tar.gz packs the
# small results (weights, logs, metrics, datalists, timings; no masks) into one file, even when a step fails. Set
# DEVICE=cpu and small numbers to try it on a laptop. The bundles are this folder's, or, when this script is run
# from an installed package, those of `monai_spine.bundles`; the Python that runs them needs monai-spine installed
# (`pip install .` or its wheel), monai, pytorch-ignite, fire, nibabel and pydicom.
set -euo pipefail
OUT=${1:?usage: bundles/train_phantom.sh OUT [N_STUDIES] [TRAIN_SECONDS]}
N=${2:-300}
SECONDS_LIMIT=${3:-270}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-16}
DRR_CTS=${DRR_CTS:-0}
DRR_STUDIES=${DRR_STUDIES:-4}
BUNDLES=${BUNDLES:-dxa,mri}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
DXA=dxa_spine_segmentation
MRI=mri_spine_segmentation
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=$OUT/data
RESULTS=${RESULTS:+$(realpath -m "$RESULTS")}

log() { echo "[$(date +%T) +${SECONDS}s] $*" | tee -a "$OUT/timings.log"; }
source "$HERE/drr_phantom_cts.sh"
pack() {  # RESULTS=FILE: the small results in one file (the GPU machine returns few files)
    [ -n "$RESULTS" ] || return 0
    (cd "$OUT" && tar -czf "$RESULTS" --exclude='*.nii.gz' \
        $(ls -d $DXA $MRI data/dataset.json dataset_drr.json dataset_mri.json timings.log drr/*.log 2>/dev/null)) \
        && echo "results: $RESULTS"
}
trap pack EXIT

$PY -c "from monai_spine.transforms import RandDixonContrastd; import monai_spine.bundles, ignite, fire, nibabel, pydicom" \
    || { echo "train_phantom.sh: $PY lacks a package above (monai-spine of this checkout and its wheels)" >&2; exit 2; }

if [ ! -f "$DATA/dataset.json" ]; then
    $PY -m monai_spine phantom --n "$N" --seed 2027 --out "$DATA" --modalities dxa,mri --dxa-pixel 0.5:2.5 --soft-tissue \
        --scoliosis-share 0.5 --device "$DEVICE" --workers "$WORKERS" ${PHANTOM_OPTIONS:-}
    log "phantom cohort: $N studies"
fi

render_drr() {  # K phantom CTs (seed 2028, none in the cohort), DRR_STUDIES drr studies of each, two datalists
    drr_phantom_cts "$OUT" 2028 0 "$DRR_CTS" "$DRR_STUDIES" dxa,mri --label-scheme "${DRR_LABEL_SCHEME:-totalseg}" \
        || { log "drr failed"; exit 1; }
    # every drr study trains or validates: the CTs are not the cohort's, so none is a test study
    $PY - "$OUT" "${MRI_EXTRA_CONTRASTS:-t2}" "$DATA/dataset.json" "$OUT"/drr/*/dataset.json <<'PY'
import json, sys
from pathlib import Path
from monai_spine.io.datalist import merge_datalists
out, extra, cohort, renders = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], sys.argv[4:]
merged = merge_datalists(out / "dataset_drr.json", {cohort: None, **{d: {"test": "training"} for d in renders}},
                         "phantom cohort + drr renders of phantom CTs")
for split in ("training", "validation"):  # the MRI bundle also reads the studies' other contrasts
    merged[split] += [dict(e, id=f"{e['id']}_{c}", mri=e[f"mri_{c}"]) for c in extra for e in merged[split]
                      if f"mri_{c}" in e]
description = f"dataset_drr.json, each study also with its {' and '.join(extra)} volumes where it has them"
(out / "dataset_mri.json").write_text(json.dumps(dict(merged, description=description), indent=1))
PY
    log "drr: $DRR_CTS CTs x $DRR_STUDIES studies, merged into dataset_drr.json and dataset_mri.json"
}
DXA_DATA=(--dataset_dir "$DATA")
MRI_DATA=(--dataset_dir "$DATA")
if [ "$DRR_CTS" -gt 0 ]; then
    render_drr
    DXA_DATA=(--dataset_dir "$OUT" --datalist_file "$OUT/dataset_drr.json")
    MRI_DATA=(--dataset_dir "$OUT" --datalist_file "$OUT/dataset_mri.json")
fi

train() {  # bundle, extra overrides...
    local b=$1; shift
    mkdir -p "$OUT/$b"
    local ckpt=${FINE_TUNE_FROM:+$FINE_TUNE_FROM/$b/model.pt}
    [ "${FINE_TUNE:-0}" = 1 ] && ckpt=${ckpt:-$HERE/$b/models/model.pt}
    [ -n "$ckpt" ] && set -- "$@" --load_pretrain True --ckpt_path "$ckpt" --learning_rate "${FINE_TUNE_LR:-0.001}"
    $PY -m monai.bundle run --bundle_root "$HERE/$b" --config_file "$HERE/$b/configs/train.json" \
        --meta_file "$HERE/$b/configs/metadata.json" --logging_file "$HERE/$b/configs/logging.conf" \
        --ckpt_dir "$OUT/$b" --max_seconds "$SECONDS_LIMIT" "$@" > "$OUT/$b/train.log" 2>&1
}
evaluate() {  # bundle, output folder name, extra overrides...
    local b=$1 name=$2; shift 2
    $PY -m monai.bundle run --bundle_root "$HERE/$b" \
        --config_file "['$HERE/$b/configs/train.json','$HERE/$b/configs/evaluate.json']" \
        --meta_file "$HERE/$b/configs/metadata.json" --logging_file "$HERE/$b/configs/logging.conf" \
        --dataset_dir "$DATA" --output_dir "$OUT/$b/$name" --ckpt_path "$OUT/$b/model.pt" --num_workers "$WORKERS" \
        "$@" > "$OUT/$b/$name.log" 2>&1
    echo "$b $name: $(tr '\n' ' ' < "$OUT/$b/$name/metrics.csv")" | tee -a "$OUT/timings.log"
}

wanted() { [[ ",$BUNDLES," == *,$1,* ]]; }  # bundle short name (dxa, mri) is in BUNDLES

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
    pids=()
    if wanted dxa; then
        train $DXA "${DXA_DATA[@]}" --num_workers "$((WORKERS / 2))" --epochs "${DXA_EPOCHS:-80}" &
        pids+=($!)
    fi
    if wanted mri; then
        train $MRI "${MRI_DATA[@]}" --num_workers "${MRI_WORKERS:-$((WORKERS * 3 / 8))}" --epochs "${MRI_EPOCHS:-16}" \
            --val_interval "${MRI_VAL_INTERVAL:-4}" ${MRI_CACHE_RATE:+--cache_rate $MRI_CACHE_RATE} &
        pids+=($!)
    fi
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    [ $failed = 0 ] || { log "training failed: see $OUT/*/train.log"; exit 1; }
    log "trained $BUNDLES ($SECONDS_LIMIT s limit)"
fi
[ "${SKIP_EVAL:-0}" = 1 ] && exit 0
if wanted dxa; then evaluate $DXA eval; fi
if wanted mri; then
    evaluate $MRI eval
    evaluate $MRI eval_water --datalist_image_key mri_water
    evaluate $MRI eval_fat --datalist_image_key mri_fat
fi
log "evaluated"
