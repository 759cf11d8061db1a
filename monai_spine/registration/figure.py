"""``alignment.png``: the MRI spine outline over the DXA before alignment and after each stage (matplotlib, Agg)."""

from __future__ import annotations

import os
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from .alignment import Alignment, coronal_masks
from .coronal import to_array
from .qc import aligned_mask, mask_iou

__all__ = ["save_alignment_figure"]

_DXA_COLOUR = "#00c8ff"
_MRI_COLOUR = "#ff7f0e"
_MARGIN_MM = 40.0
_DPI = 110


def _box(masks, spacing) -> tuple[float, float, float, float]:
    """``(x0, x1, z0, z1)`` mm around the foreground of ``(W, H)`` masks, with a margin, within the image."""
    union = np.logical_or.reduce([m > 0 for m in masks])
    columns, rows = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    (w, h), (sx, sz) = union.shape, spacing
    return (max(columns[0] * sx - _MARGIN_MM, -0.5 * sx), min(columns[-1] * sx + _MARGIN_MM, (w - 0.5) * sx),
            max(rows[0] * sz - _MARGIN_MM, -0.5 * sz), min(rows[-1] * sz + _MARGIN_MM, (h - 0.5) * sz))


def _outline(ax, mask: np.ndarray, spacing, colour: str) -> None:
    if mask.any():
        x, z = np.arange(mask.shape[0]) * spacing[0], np.arange(mask.shape[1]) * spacing[1]
        ax.contour(x, z, mask.T.astype(np.float32), levels=[0.5], colors=colour, linewidths=1.4)


def save_alignment_figure(path: str | os.PathLike, dxa, dxa_mask, mri_mask, alignment: Alignment) -> None:
    """Three panels over the DXA (grey, mm axes, standard display): the DXA spine outline and the MRI's projected
    spine outline placed by the identity (the frames as given), by stage 1 and by the result (stage 2's, or stage 3's
    refitted where it applied), each titled with its IoU; the verdict above.

    Args:
        path: the PNG to write.
        dxa: ``MetaTensor`` ``(1, W, H)``, the DXA image (``LoadRadiograph``).
        dxa_mask, mri_mask: the masks given to :func:`~monai_spine.registration.align_pair`.
        alignment: its result.
    """
    fixed, moving = coronal_masks(dxa_mask, mri_mask)
    spacing = fixed.GetSpacing()
    image = np.asarray(dxa[0], dtype=np.float32)
    panels = (
        ("Before (frames as given)", np.eye(3)),
        ("After stage 1 (image level)", alignment.image_stage.matrix_mri_to_dxa),
        ("After stage 3 (discs) and the refit" if alignment.refit_stage else "After stage 2 (spine level)",
         alignment.matrix_mri_to_dxa),
    )
    dxa_outline = to_array(fixed) > 0
    placed = [to_array(aligned_mask(fixed, moving, matrix)) > 0 for _, matrix in panels]
    x0, x1, z0, z1 = _box([dxa_outline, *placed], spacing)
    window = image[int(x0 / spacing[0] + 0.5):int(x1 / spacing[0] + 0.5) + 1,
                   int(z0 / spacing[1] + 0.5):int(z1 / spacing[1] + 0.5) + 1]
    low, high = np.percentile(window, [1, 99])
    extent = (-0.5 * spacing[0], (image.shape[0] - 0.5) * spacing[0], (image.shape[1] - 0.5) * spacing[1],
              -0.5 * spacing[1])

    fig, axes = plt.subplots(1, 3, figsize=(12, 8), sharex=True, sharey=True, layout="constrained")
    for ax, (title, matrix), mri in zip(axes, panels, placed):
        ax.imshow(image.T, cmap="gray", vmin=low, vmax=max(high, low + 1e-6), extent=extent, interpolation="bilinear")
        _outline(ax, dxa_outline, spacing, _DXA_COLOUR)
        _outline(ax, mri, spacing, _MRI_COLOUR)
        ax.set_title(f"{title}\nIoU {mask_iou(fixed, moving, matrix):.3f}", fontsize=10)
        ax.set_xlabel("x (mm, patient's left →)")
        ax.text(0.03, 0.5, "R", transform=ax.transAxes, color="w", fontsize=13, weight="bold", va="center")
        ax.text(0.92, 0.5, "L", transform=ax.transAxes, color="w", fontsize=13, weight="bold", va="center")
    axes[0].set_xlim(x0, x1)
    axes[0].set_ylim(z1, z0)
    axes[0].set_ylabel("z (mm, feet ↓)")
    axes[0].legend(
        [Line2D([], [], color=_DXA_COLOUR), Line2D([], [], color=_MRI_COLOUR)],
        ["DXA spine mask", "MRI spine mask (coronal projection)"], loc="lower left", fontsize=8,
    )
    if alignment.accepted:
        verdict = (f"Accepted: IoU {alignment.iou:.3f} ≥ {alignment.iou_threshold:g}, rotation "
                   f"{alignment.rotation_deg:.2f}°, outlines {alignment.outline_rms_mm:.1f} mm apart (RMS), "
                   f"centre lines within {alignment.centre_deviation_mm:.1f} mm")
    else:
        verdict = "Rejected:\n" + "\n".join(textwrap.fill(f"• {r}", 100) for r in alignment.reason.split("; "))
    fig.suptitle(verdict, color="#1a7f37" if alignment.accepted else "#cf222e", fontsize=11)
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
