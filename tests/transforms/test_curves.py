"""MaskToCurves / MaskToCentreLine and their dictionary forms on synthetic masks whose curves are known in mm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, Spacingd

from monai_spine.geometry import CURVE_NAMES, N_POINTS
from monai_spine.transforms import (
    LoadRadiographd,
    MaskToCentreLine,
    MaskToCentreLineD,
    MaskToCentreLined,
    MaskToCentreLineDict,
    MaskToCurves,
    MaskToCurvesD,
    MaskToCurvesd,
    MaskToCurvesDict,
)

SPACING_2D = (0.5, 1.0)  # (column, row) mm
SPACING_3D = (0.8, 0.6, 1.5)  # (x, y, z) mm
RADIUS = 7.0  # mm, of the tube's axial discs


def band_low(z):
    return 20 + 0.2 * z


def band_high(z):
    return 44 + 0.2 * z


def band_mask(spacing=SPACING_2D, shape=(160, 170)) -> np.ndarray:
    """Coronal mask ``(W, H)``: the pixels whose centre lies between ``band_low(z)`` and ``band_high(z)`` mm, z in
    [10, 150] mm."""
    x = np.arange(shape[0])[:, None] * spacing[0]
    z = np.arange(shape[1])[None, :] * spacing[1]
    return (x >= band_low(z)) & (x <= band_high(z)) & (z >= 10) & (z <= 150)


def tube_centre(z):
    """The tube's true centre line: ``(x, y)`` mm at height ``z`` mm."""
    return 20 + 0.1 * z, 12 + 0.05 * z


def tube_mask(spacing=SPACING_3D, shape=(60, 50, 100)) -> np.ndarray:
    """Volume mask ``(X, Y, Z)`` in the patient frame: discs of radius ``RADIUS`` around ``tube_centre``, slices
    5 to 94."""
    x = np.arange(shape[0])[:, None, None] * spacing[0]
    y = np.arange(shape[1])[None, :, None] * spacing[1]
    z = np.arange(shape[2])[None, None, :] * spacing[2]
    xc, yc = tube_centre(z)
    mask = (x - xc) ** 2 + (y - yc) ** 2 <= RADIUS**2
    mask[..., :5] = mask[..., 95:] = False
    return mask


def as_input(kind: str, mask: np.ndarray, spacing):
    """The mask ``(1, ...)`` as numpy, torch or MetaTensor, and the ``spacing`` argument the transform needs."""
    if kind == "numpy":
        return mask[None].astype(np.uint8), spacing
    if kind == "torch":
        return torch.as_tensor(mask[None]), spacing
    affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
    if kind == "MetaTensor":  # spacing from the affine
        return MetaTensor(torch.as_tensor(mask[None]), affine=affine), None
    # "explicit spacing": the argument wins over a (here wrong) affine
    return MetaTensor(torch.as_tensor(mask[None]), affine=2 * affine), spacing


KINDS = ["numpy", "torch", "MetaTensor", "explicit spacing"]


def assert_band_curves(curves: np.ndarray, column_spacing: float, row_spacing: float = SPACING_2D[1]):
    """Centre, low and high curves ``(3, N_POINTS, 2)`` of the band within half a pixel (+ the sampling's half
    pixel when resampled) of the truth."""
    assert curves.shape == (3, N_POINTS, 2)
    z = curves[0, :, 1]
    np.testing.assert_allclose(z, np.linspace(10, 150, N_POINTS), atol=row_spacing / 2)
    tol = 0.5 * column_spacing + 0.5 * SPACING_2D[0] + 1e-6
    assert np.abs(curves[1, :, 0] - band_low(z)).max() <= tol
    assert np.abs(curves[2, :, 0] - band_high(z)).max() <= tol
    assert np.abs(curves[0, :, 0] - (band_low(z) + band_high(z)) / 2).max() <= tol


@pytest.mark.parametrize("kind", KINDS)
def test_mask_to_curves_2d_known_band(kind):
    mask, spacing = as_input(kind, band_mask(), SPACING_2D)
    out = MaskToCurves(spacing=spacing)(mask)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert_band_curves(out.numpy(), SPACING_2D[0])


@pytest.mark.parametrize("kind", KINDS)
def test_mask_to_curves_3d_known_tube(kind):
    mask, spacing = as_input(kind, tube_mask(), SPACING_3D)
    out = MaskToCurves(spacing=spacing)(mask)
    assert out.shape == (len(CURVE_NAMES), N_POINTS, 2) and out.dtype == torch.float32
    curves = dict(zip(CURVE_NAMES, out.numpy()))
    z = curves["coronal_centre"][:, 1]
    np.testing.assert_allclose(z, np.linspace(5 * 1.5, 94 * 1.5, N_POINTS))
    xc, yc = tube_centre(z)
    sx, sy, _ = SPACING_3D
    for name, truth, pixel in (
        ("coronal_centre", xc, sx), ("coronal_right", xc - RADIUS, sx), ("coronal_left", xc + RADIUS, sx),
        ("sagittal_centre", yc, sy), ("sagittal_posterior", yc - RADIUS, sy), ("sagittal_anterior", yc + RADIUS, sy),
    ):
        assert np.abs(curves[name][:, 0] - truth).max() <= 0.55 * pixel, name


@pytest.mark.parametrize("kind", KINDS)
def test_mask_to_centre_line_known_tube(kind):
    mask, spacing = as_input(kind, tube_mask(), SPACING_3D)
    line = MaskToCentreLine(spacing=spacing)(mask)
    assert line.shape == (N_POINTS, 3) and line.dtype == torch.float32
    line = line.numpy()
    xc, yc = tube_centre(line[:, 2])
    assert np.abs(line[:, 0] - xc).max() <= 0.5 * SPACING_3D[0]
    assert np.abs(line[:, 1] - yc).max() <= 0.5 * SPACING_3D[1]


def test_spacing_follows_the_affine_through_resampling(tmp_path, write_nifti):
    """Loaded, resampled to 1 mm columns by MONAI, the mask still gives its curves in true mm."""
    path = write_nifti(tmp_path / "mask.nii.gz", band_mask().astype(np.uint8), np.diag([*SPACING_2D, 1.0, 1.0]))
    pipeline = Compose([
        LoadRadiographd("mask"),
        Spacingd("mask", pixdim=(1.0, 1.0), mode="nearest"),
        MaskToCurvesd("mask"),
    ])
    data = pipeline({"mask": path})
    assert data["mask"].shape[1] == 80  # half the columns
    assert_band_curves(data["mask_curves"].numpy(), column_spacing=1.0)


@pytest.mark.parametrize(
    "transform, args, message",
    [
        (MaskToCurves, (MetaTensor(torch.ones(2, 5, 5)),), "one-channel"),
        (MaskToCurves, (torch.ones(1, 5, 5),), "no spacing"),
        (MaskToCurves, (np.ones((1, 5, 5)), ), "no spacing"),
        (lambda: MaskToCurves(spacing=(1.0, 1.0, 1.0)), (np.ones((1, 5, 5)),), "expected 2 spacing values"),
        (lambda: MaskToCentreLine(spacing=(1.0, 1.0)), (np.ones((1, 5, 5)),), "3D"),
    ],
)
def test_bad_masks_raise(transform, args, message):
    with pytest.raises(ValueError, match=message):
        transform()(*args)


@pytest.mark.parametrize(
    "dict_transform, array_transform, postfix, mask",
    [
        (MaskToCurvesd, MaskToCurves, "curves", band_mask()),
        (MaskToCentreLined, MaskToCentreLine, "centre_line", tube_mask()),
    ],
)
def test_dictionary_forms(dict_transform, array_transform, postfix, mask):
    spacing = SPACING_2D if mask.ndim == 2 else SPACING_3D
    image = MetaTensor(torch.as_tensor(mask[None]), affine=torch.diag(torch.tensor([*spacing, 1.0])))
    expected = array_transform()(image)
    out = dict_transform(keys=["mask", "absent"], allow_missing_keys=True)({"mask": image, "other": 1})
    assert set(out) == {"mask", "other", f"mask_{postfix}"} and out["mask"] is image
    torch.testing.assert_close(out[f"mask_{postfix}"], expected)
    renamed = dict_transform(keys="mask", output_postfix="line", n_points=11)({"mask": image})
    assert renamed["mask_line"].shape[-2] == 11
    with pytest.raises(KeyError):
        dict_transform(keys="absent")({"mask": image})


def test_aliases():
    assert MaskToCurvesD is MaskToCurvesDict is MaskToCurvesd
    assert MaskToCentreLineD is MaskToCentreLineDict is MaskToCentreLined
