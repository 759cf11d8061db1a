"""Datalist splits: every study used once, scoliosis share balanced, deterministic, readable by MONAI."""

import json
from pathlib import Path

import pytest
from monai.data import load_decathlon_datalist

from monai_spine.io.datalist import SPLITS, merge_datalists, split_balanced, write_datalist, write_folds


def _entries(n_scoliotic, n_normal):
    return [{"id": f"s{i:03d}", "scoliotic": i < n_scoliotic} for i in range(n_scoliotic + n_normal)]


def test_split_is_balanced_complete_and_deterministic():
    entries = _entries(30, 70)
    splits = split_balanced(entries, seed=3)
    assert [len(splits[s]) for s in SPLITS] == [80, 10, 10]
    ids = [e["id"] for s in SPLITS for e in splits[s]]
    assert sorted(ids) == sorted(e["id"] for e in entries)
    assert [sum(e["scoliotic"] for e in splits[s]) for s in SPLITS] == [24, 3, 3]
    assert split_balanced(entries, seed=3) == splits
    assert split_balanced(entries, seed=4) != splits


def test_bad_fractions_rejected():
    with pytest.raises(ValueError, match="fractions"):
        split_balanced(_entries(2, 2), fractions=(0.5, 0.5, 0.5))


def test_datalist_loads_with_monai(tmp_path):
    entries = [dict(e, image=f"{e['id']}/dxa.dcm") for e in _entries(5, 5)]
    path = tmp_path / "dataset.json"
    write_datalist(path, split_balanced(entries), "test cohort")
    loaded = load_decathlon_datalist(str(path), data_list_key="training", base_dir=str(tmp_path))
    assert len(loaded) == 8 and loaded[0]["image"].startswith(str(tmp_path))


def test_merged_datalist_reads_the_same_files_with_splits_remapped(tmp_path):
    for cohort in ("phantom", "drr/ct_0000"):
        entries = [dict(e, image=f"{e['id']}/dxa.dcm", pixel_mm=1.5) for e in _entries(10, 10)]
        for e in entries:
            (tmp_path / cohort / e["id"]).mkdir(parents=True)
            (tmp_path / cohort / e["image"]).write_text(cohort)
        write_datalist(tmp_path / cohort / "dataset.json", split_balanced(entries), cohort)
    merged = merge_datalists(
        tmp_path / "merged" / "dataset.json",
        {tmp_path / "phantom" / "dataset.json": None, tmp_path / "drr/ct_0000/dataset.json": {"test": "training"}},
        "phantom + drr",
    )
    assert [len(merged[s]) for s in SPLITS] == [16 + 18, 2 + 2, 2]  # 20 → 16/2/2 each; drr's test joins training
    loaded = load_decathlon_datalist(tmp_path / "merged" / "dataset.json", data_list_key="training")
    assert sorted(Path(e["image"]).read_text() for e in loaded) == ["drr/ct_0000"] * 18 + ["phantom"] * 16
    ids = [e["id"] for s in SPLITS for e in merged[s]]
    assert len(set(ids)) == 40 and "../phantom/s000" in ids  # study folders rebased too, so ids stay unique
    assert all(e["pixel_mm"] == 1.5 and isinstance(e["scoliotic"], bool) for e in loaded)


def test_folds_partition_training_and_validation_and_keep_the_test_split(tmp_path):
    entries = [{"id": f"s{i}", "image": f"s{i}.nii.gz", "scoliotic": i % 3 == 0} for i in range(23)]
    path = tmp_path / "dataset.json"
    write_datalist(path, {"training": entries[:18], "validation": entries[18:20], "test": entries[20:]}, "d")
    files = write_folds(path, 5, seed=1)
    assert [f.name for f in files] == [f"dataset_fold{i}.json" for i in range(5)]
    folds = [json.loads(f.read_text()) for f in files]
    validation = [sorted(e["id"] for e in fold["validation"]) for fold in folds]
    assert sorted(sum(validation, [])) == sorted(e["id"] for e in entries[:20])  # each entry validates once
    for fold in folds:
        assert {e["id"] for e in fold["training"]}.isdisjoint(e["id"] for e in fold["validation"])
        assert len(fold["training"]) + len(fold["validation"]) == 20 and fold["test"] == entries[20:]
        assert sum(e["scoliotic"] for e in fold["validation"]) in (1, 2)  # 7 scoliotic of 20, spread over 5 folds
    with pytest.raises(ValueError, match="fewer than"):
        write_folds(path, 21)
