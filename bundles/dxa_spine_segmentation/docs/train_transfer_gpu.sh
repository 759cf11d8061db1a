set -u
export PYTHONUNBUFFERED=1; D=/tmp/run; B=bundles/dxa_spine_segmentation; mkdir -p $D
python3 -m monai_spine phantom --n 96 --seed 2027 --out $D/data --modalities dxa --dxa-pixel 0.5:2.5 --scoliosis-share 0.5 --device cuda --workers 16 2>&1 | tail -1
python3 -m monai_spine phantom --n 4 --seed 2028 --out $D/ct --modalities ct --scoliosis-share 0.5 --device cuda --workers 4 2>&1 | tail -1
for ct in $D/ct/study_*; do python3 -m monai_spine drr --ct $ct/ct.nii.gz --labels $ct/ct_vertebrae.nii.gz --n 3 --seed ${ct##*_} --out $D/drr/${ct##*/} --device cuda > $D/${ct##*/}_drr.log 2>&1 & done; wait
python3 -c "import sys; from monai_spine.io.datalist import merge_datalists as m; m(sys.argv[1], {sys.argv[2]: None, **{d: {'test': 'training'} for d in sys.argv[3:]}}, 'phantom + drr')" $D/dataset_dxa.json $D/data/dataset.json $D/drr/*/dataset.json
echo "data done $SECONDS s"
timeout 230 python3 -m monai.bundle run --bundle_root $B --config_file $B/configs/train.json --meta_file $B/configs/metadata.json --logging_file $B/configs/logging.conf --dataset_dir $D --datalist_file $D/dataset_dxa.json --ckpt_dir $D/dxa --max_seconds 200 --load_pretrain True --ckpt_path $B/models/model.pt --learning_rate 0.001 --num_workers 12 --epochs 80 > $OUT/dxa_train.log 2>&1
echo "train done $SECONDS s"; cp $D/dxa/model.pt $OUT/dxa_model.pt; grep -c . $D/dataset_dxa.json
