# Sourced by the train_*.sh scripts: phantom CTs and their `monai-spine drr` renders, the machine's cores shared.
#
#   drr_phantom_cts OUT CT_SEED DRR_SEED N_CTS N_STUDIES MODALITIES [drr options...]
#
# OUT/ct: N_CTS phantom CTs (seed CT_SEED, soft tissue, half of them scoliotic; CT_SPACING mm voxels when set;
# CT_PHANTOM_OPTIONS adds `monai-spine phantom` options, e.g. "--vertebral-body-depth 0.9:1.4");
# OUT/drr/study_NNNN: N_STUDIES drr studies of each CT (seed DRR_SEED + the CT's number) and its log
# OUT/drr/study_NNNN.log. What a previous run finished is kept, so an interrupted run goes on where it stopped.
# At most WORKERS / 2 CTs are rendered at once, with 2 threads each: one process per CT with torch's default of a
# thread per core oversubscribed a 16-core machine 24-fold, and 24 CTs took over 4 minutes of a 10-minute GPU call.
# Needs PY, DEVICE and WORKERS; returns non-zero when a render fails.
drr_phantom_cts() {
    local out=$1 ct_seed=$2 drr_seed=$3 n_cts=$4 n_studies=$5 modalities=$6
    shift 6
    # shellcheck disable=SC2086
    [ -f "$out/ct/dataset.json" ] || $PY -m monai_spine phantom --n "$n_cts" --seed "$ct_seed" --out "$out/ct" \
        --modalities ct --soft-tissue --scoliosis-share 0.5 --device "$DEVICE" --workers "$WORKERS" \
        ${CT_SPACING:+--ct-spacing "$CT_SPACING"} ${CT_PHANTOM_OPTIONS:-} > "$out/ct.log" 2>&1 || return 1
    mkdir -p "$out/drr"
    local ct study pid pids=() at_once=$(( WORKERS > 3 ? WORKERS / 2 : 1 ))
    for ct in "$out"/ct/study_*/; do
        study=$(basename "$ct")
        [ -f "$out/drr/$study/dataset.json" ] && continue
        while [ "$(jobs -rp | wc -l)" -ge "$at_once" ]; do sleep 0.2; done
        OMP_NUM_THREADS=2 $PY -m monai_spine drr --ct "$ct/ct.nii.gz" --labels "$ct/ct_vertebrae.nii.gz" \
            --n "$n_studies" --seed "$((10#${study#study_} + drr_seed))" --out "$out/drr/$study" \
            --modalities "$modalities" --device "$DEVICE" --workers 1 "$@" > "$out/drr/$study.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]+"${pids[@]}"}"; do
        wait "$pid" || { echo "drr failed: see $out/drr/*.log" >&2; wait; return 1; }
    done
}
