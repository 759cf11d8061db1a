"""The helpers written once: atomic writes, plain JSON values, rounding, the single-threaded job map."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from pydicom.valuerep import DSfloat

from monai_spine.io.files import as_plain, atomic_path, atomic_write_text, json_text, rounded
from monai_spine.workers import map_single_threaded


def test_as_plain_makes_json_values():
    value = {
        1: np.float32(2.5),
        "array": np.arange(3, dtype=np.int16),
        "nested": ({"nan": float("nan"), "inf": np.float64(np.inf)}, (np.bool_(True), None)),
        "path": Path("a") / "b.nii.gz",
        "dicom": [DSfloat("0.5"), "text"],
        "scalar_array": np.array(7.0),
    }
    plain = as_plain(value)
    assert plain == {"1": 2.5, "array": [0, 1, 2], "nested": [{"nan": None, "inf": None}, [True, None]],
                     "path": os.path.join("a", "b.nii.gz"), "dicom": [0.5, "text"], "scalar_array": 7.0}
    assert type(plain["dicom"][0]) is float and type(plain["array"][0]) is int
    json.dumps(plain, allow_nan=False)  # JSON can hold every value now
    with pytest.raises(TypeError):
        json.dumps(as_plain({"bad": object()}))  # what JSON cannot hold is left for json to refuse


def test_rounded_to_decimals_without_negative_zero():
    assert rounded([[-0.0001, 1.23456], [2.0004, -3.9996]]) == [[0.0, 1.235], [2.0, -4.0]]
    assert str(rounded([-0.0004])[0]) == "0.0"


def test_json_text_puts_each_point_on_one_line():
    text = json_text({"curve": [[1.0, 2.0], [3.0, 4.0]], "name": "x"})
    assert text == '{\n "curve": [\n  [1.0, 2.0],\n  [3.0, 4.0]\n ],\n "name": "x"\n}\n'
    with pytest.raises(ValueError):
        json_text({"nan": float("nan")})


def test_atomic_path_keeps_suffix_and_replaces_only_on_success(tmp_path):
    path = tmp_path / "image.nii.gz"
    path.write_text("old")
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".image.nii.gz") and tmp.name.startswith(".")
        assert path.read_text() == "old"  # nothing replaced before the block ends
        tmp.write_text("new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["image.nii.gz"]
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["image.nii.gz"]


def test_atomic_write_text_gives_new_file_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.csv", "x\r\ny\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.csv").read_bytes() == b"x\r\ny\n"  # line ends as given
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644


def _threads(offset: int, item: int) -> tuple[int, int, int]:
    return item + offset, torch.get_num_threads(), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()


def test_map_single_threaded_in_this_process_restores_threads():
    before = torch.get_num_threads(), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    results = list(map_single_threaded(partial(_threads, 10), range(3), workers=1))
    assert results == [(10, 1, 1), (11, 1, 1), (12, 1, 1)]
    assert (torch.get_num_threads(), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()) == before


def test_map_single_threaded_pool_keeps_order_and_one_thread():
    results = list(map_single_threaded(partial(_threads, 0), range(4), workers=2, ordered=True))
    assert results == [(0, 1, 1), (1, 1, 1), (2, 1, 1), (3, 1, 1)]
