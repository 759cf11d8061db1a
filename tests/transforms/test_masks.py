"""FileOrientation, CheckSpineMask and CloseSpineGaps, array and dictionary forms, against known file grids, mask
lengths and gaps."""

from __future__ import annotations

import re
import warnings

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_spine.transforms import (
    CheckSpineMask,
    CheckSpineMaskD,
    CheckSpineMaskd,
    CheckSpineMaskDict,
    CloseSpineGaps,
    CloseSpineGapsD,
    CloseSpineGapsd,
    CloseSpineGapsDict,
    FileOrientation,
    FileOrientationD,
    FileOrientationd,
    FileOrientationDict,
    LoadVolume,
)


def write_oriented(path, codes) -> nib.Nifti1Image:
    """A random volume stored with axis codes ``codes``, 0.9 × 1.1 × 3.0 mm voxels, written to ``path``."""
    data = np.random.default_rng(0).random((6, 7, 8)).astype(np.float32)
    affine = np.diag([0.9, 1.1, 3.0, 1.0])
    affine[:3, 3] = (10, -20, 30)
    ras_to_codes = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt(("R", "A", "S")),
                                                   nib.orientations.axcodes2ornt(codes))
    img = nib.Nifti1Image(data, affine).as_reoriented(ras_to_codes)
    nib.save(img, path)
    return img


@pytest.mark.parametrize("codes", [("R", "A", "S"), ("P", "L", "I"), ("S", "R", "A"), ("L", "A", "I")])
def test_file_orientation_restores_the_file_grid(tmp_path, codes):
    img = write_oriented(tmp_path / "v.nii.gz", codes)
    loaded = LoadVolume()(tmp_path / "v.nii.gz")  # in the patient frame, LAI
    back = FileOrientation()(loaded)
    assert back.shape[1:] == img.shape
    np.testing.assert_allclose(back.affine.numpy(), img.affine, atol=1e-5)
    np.testing.assert_array_equal(back[0].numpy(), np.asarray(img.dataobj))


def test_file_orientation_dictionary_form(tmp_path):
    img = write_oriented(tmp_path / "v.nii.gz", ("P", "L", "I"))
    loaded = LoadVolume()(tmp_path / "v.nii.gz")
    out = FileOrientationd(keys=["pred", "absent"], allow_missing_keys=True)({"pred": loaded, "other": 1})
    assert set(out) == {"pred", "other"}
    np.testing.assert_array_equal(out["pred"][0].numpy(), np.asarray(img.dataobj))
    with pytest.raises(KeyError):
        FileOrientationd(keys="absent")({"pred": loaded})


@pytest.mark.parametrize("image", [MetaTensor(torch.zeros(1, 2, 2, 2)), torch.zeros(1, 2, 2, 2)])
def test_file_orientation_needs_the_original_affine(image):
    with pytest.raises(ValueError, match="original_affine"):
        FileOrientation()(image)


def spine(shape, first: int, last: int) -> torch.Tensor:
    """A one-channel mask of ``shape`` (spatial) with foreground on the last axis from ``first`` to ``last``, 30
    voxels wide on the first axis (3 on the others)."""
    mask = torch.zeros(1, *shape)
    index = (0, slice(2, 32), *(slice(2, 5) for _ in shape[1:-1]), slice(first, last + 1))
    mask[index] = 1
    return mask


# (mask, affine spacing per axis in mm, expected problem or None); length = rows × spacing of the last axis
CHECKS = {
    "2d empty": (torch.zeros(1, 40, 100), (1.0, 2.0), "no spine found (empty mask)"),
    "2d 40 mm": (spine((40, 100), 40, 59), (1.0, 2.0), "spine mask only 40 mm long (< 100 mm): likely no spine"),
    "2d 160 mm": (spine((40, 100), 10, 89), (1.0, 2.0), None),
    "2d anisotropic": (spine((40, 100), 10, 89), (2.0, 1.0), "spine mask only 80 mm long"),
    "2d 180 mm wide": (spine((40, 100), 10, 89), (6.0, 2.0), "spine mask 180 mm wide (a spine is 15–90 mm)"),
    "2d 9 mm wide": (spine((40, 100), 10, 89), (0.3, 2.0), "spine mask 9 mm wide"),
    "2d 1840 mm wide image": (spine((40, 100), 10, 89), (46.0, 2.0), "image 1840 × 200 mm at its pixel size"),
    "3d 60 mm": (spine((40, 8, 50), 10, 29), (1.0, 1.0, 3.0), "spine mask only 60 mm long"),
    "3d 120 mm": (spine((40, 8, 50), 10, 49), (1.0, 1.0, 3.0), None),
    "3d 120 mm wide": (spine((40, 8, 50), 10, 49), (4.0, 1.0, 3.0), "spine mask 120 mm wide"),
}


@pytest.mark.parametrize("name", CHECKS)
def test_check_spine_mask_known_lengths(name):
    mask, spacing, problem = CHECKS[name]
    image = MetaTensor(mask.clone(), affine=torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64)),
                       meta={"filename_or_obj": "/data/x.dcm"})
    if problem is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = CheckSpineMask()(image)
        assert "qc_warnings" not in out.meta
    else:
        with pytest.warns(UserWarning, match=f"^/data/x.dcm: {re.escape(problem)}"):
            out = CheckSpineMask()(image)
        assert len(out.meta["qc_warnings"]) == 1 and out.meta["qc_warnings"][0].startswith(problem)
    assert out is image  # the mask passes unchanged


def test_check_spine_mask_threshold_and_plain_tensors():
    short = spine((40, 100), 40, 59)  # 20 rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CheckSpineMask(min_length_mm=20)(MetaTensor(short.clone(), affine=torch.eye(3)))
        CheckSpineMask()(short)  # no affine: the length cannot be measured, only emptiness
    with pytest.warns(UserWarning, match="^image: no spine found"):
        CheckSpineMask()(torch.zeros(1, 40, 100))


def test_check_spine_mask_dictionary_form():
    empty = MetaTensor(torch.zeros(1, 20, 100), affine=torch.eye(3), meta={"filename_or_obj": "/data/x.dcm"})
    with pytest.warns(UserWarning, match="/data/x.dcm: no spine found"):
        out = CheckSpineMaskd(keys=["pred", "absent"], allow_missing_keys=True)({"pred": empty, "other": 1})
    assert set(out) == {"pred", "other"} and out["pred"].meta["qc_warnings"] == ["no spine found (empty mask)"]
    long = MetaTensor(spine((20, 100), 10, 89), affine=torch.eye(3))
    with pytest.warns(UserWarning, match="80 mm long"):
        CheckSpineMaskd(keys="pred", min_length_mm=90)({"pred": long})
    with pytest.raises(KeyError):
        CheckSpineMaskd(keys="absent")({"pred": empty})


def column_with_gaps(slice_mm: float) -> MetaTensor:
    """A ``(1, 9, 9, 60)`` column (x, y 2–6) over slices 5–54 of ``slice_mm``, cut by gaps of 1, 2 and 4 slices at
    15, 25–26 and 35–38, with a stray voxel beside it at slice 45."""
    column = torch.zeros(1, 9, 9, 60)
    column[0, 2:7, 2:7, 5:55] = 1
    column[0, :, :, [15, 25, 26, 35, 36, 37, 38]] = 0
    column[0, 0, 0, 45] = 1
    return MetaTensor(column, affine=torch.diag(torch.tensor([1.0, 1.0, slice_mm, 1.0], dtype=torch.float64)))


@pytest.mark.parametrize(("slice_mm", "filled"), [(3.0, [15, 25, 26]), (1.0, [15, 25, 26, 35, 36, 37, 38])])
def test_close_spine_gaps_fills_gaps_up_to_max_gap_mm(slice_mm, filled):
    """6 mm at 3 mm slices: the 1- and 2-slice gaps (3, 6 mm) close, the 4-slice one (12 mm) stays; at 1 mm slices
    the 4-slice gap (4 mm) closes too. Nothing is added outside the gaps and nothing removed, the stray voxel
    included; the meta survives."""
    mask = column_with_gaps(slice_mm)
    closed = CloseSpineGaps()(mask)
    added = (closed > 0) & ~(mask > 0)
    assert sorted(torch.nonzero(added.any(dim=1).any(dim=1)[0]).flatten().tolist()) == filled
    assert bool(added[0, 2:7, 2:7][..., filled].all()) and not bool(added[0, :2].any() or added[0, 7:].any())
    assert bool((closed[mask > 0] > 0).all())
    assert isinstance(closed, MetaTensor) and torch.equal(closed.affine, mask.affine) and closed.shape == mask.shape


def test_close_spine_gaps_dictionary_form_and_bad_length():
    out = CloseSpineGapsd(keys=["pred", "absent"], max_gap_mm=3.0, allow_missing_keys=True)(
        {"pred": column_with_gaps(3.0), "other": 1})
    assert set(out) == {"pred", "other"}
    assert bool(out["pred"][0, 4, 4, 15] > 0) and not bool(out["pred"][0, 4, 4, 25] > 0)  # 3 mm: one slice only
    assert torch.equal(CloseSpineGaps(0.0)(column_with_gaps(3.0)), column_with_gaps(3.0))  # the DXA bundle's: off
    with pytest.raises(ValueError, match="max_gap_mm"):
        CloseSpineGaps(-1.0)


def test_aliases():
    assert FileOrientationD is FileOrientationDict is FileOrientationd
    assert CheckSpineMaskD is CheckSpineMaskDict is CheckSpineMaskd
    assert CloseSpineGapsD is CloseSpineGapsDict is CloseSpineGapsd
