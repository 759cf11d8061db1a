"""``evaluation.png``: the studies that scored worst, a row per scorer that draws them: the DXA masks with the true
centroids (:class:`DxaPanel`), the routes' centre lines against the truth (:class:`CurvePanel`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["DxaPanel", "CurvePanel", "save_evaluation_figure"]

_DPI = 100


class DxaPanel:
    """One study's picture: the DXA ``(W, H)`` with ``spacing`` ``(column, row)`` mm, the predicted mask
    ``(W, H)``, the true centroids' ``(N, 2)`` pixels and whether each is inside, and a title."""

    def __init__(self, image, spacing, mask, pixels, inside, title: str) -> None:
        self.image, self.mask = np.asarray(image, dtype=np.float32), np.asarray(mask) > 0
        self.spacing = np.asarray(spacing, dtype=np.float64)
        self.pixels, self.inside, self.title = np.asarray(pixels), np.asarray(inside, dtype=bool), title

    def draw(self, ax) -> None:
        """Image in standard display (patient's right on the viewer's left, head up), mm axes, cropped to the
        spine with a margin; mask outline in cyan; centroids green inside, red outside."""
        sx, sz = self.spacing
        w, h = self.image.shape
        extent = (-0.5 * sx, (w - 0.5) * sx, (h - 0.5) * sz, -0.5 * sz)
        lo, hi = np.percentile(self.image, [1, 99])
        ax.imshow(self.image.T, cmap="gray", vmin=lo, vmax=max(hi, lo + 1e-6), extent=extent)
        if self.mask.any():
            ax.contour(np.arange(w) * sx, np.arange(h) * sz, self.mask.T.astype(float), levels=[0.5],
                       colors="#00c8ff", linewidths=0.8)
        points = self.pixels * self.spacing
        for inside, colour in ((True, "#2ecc40"), (False, "#ff4136")):
            chosen = points[self.inside == inside]
            ax.plot(chosen[:, 0], chosen[:, 1], "o", ms=3.5, color=colour, label="inside" if inside else "outside")
        box = np.concatenate([points, np.argwhere(self.mask) * self.spacing]) if self.mask.any() else points
        low, high = box.min(axis=0) - 60.0, box.max(axis=0) + 60.0
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(high[1], low[1])
        ax.set_title(self.title, fontsize=8)
        ax.set_xlabel("x (mm)", fontsize=7)
        ax.tick_params(labelsize=6)


class CurvePanel:
    """One study's route result: the predicted and true :class:`~monai_spine.geometry.SpineCurves` (mm) and a title."""

    OFFSET_MM = 45.0
    """Half the distance between the coronal and the sagittal drawing, mm."""

    def __init__(self, pred, truth, title: str) -> None:
        self.pred, self.truth, self.title = pred.to_array(), truth.to_array(), title

    def draw(self, ax) -> None:
        """The coronal curves (x, z) on the left and the sagittal curves (y, z) on the right, each moved so that the
        true centre line's median sits at ``-OFFSET_MM`` or ``+OFFSET_MM``: truth solid, prediction dashed, centre
        lines thick; z (mm) toward the feet, downward."""
        for view, (first, centre) in enumerate(((0, -self.OFFSET_MM), (3, self.OFFSET_MM))):
            shift = centre - np.median(self.truth[first, :, 0])
            for curves, style, name in ((self.truth, "-", "truth"), (self.pred, "--", "predicted")):
                for k in range(first, first + 3):
                    ax.plot(curves[k, :, 0] + shift, curves[k, :, 1], style, color="#ffb000" if k == first else
                            "#00a0e0", lw=1.4 if k == first else 0.7,
                            label=f"{name} centre" if k == first and view == 0 else None)
            ax.text(centre, float(self.truth[first, :, 1].min()), "coronal" if view == 0 else "sagittal",
                    ha="center", va="bottom", fontsize=7)
        if not ax.yaxis_inverted():
            ax.invert_yaxis()
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(self.title, fontsize=8)
        ax.set_xlabel("x | y (mm), each view centred", fontsize=7)
        ax.tick_params(labelsize=6)


def save_evaluation_figure(path: str | os.PathLike, rows: Sequence[tuple[str, list]], heading: str) -> None:
    """Write one row of panels (:class:`DxaPanel` or :class:`CurvePanel`) per ``(label, panels)`` to ``path``
    (PNG), each row's label on its first panel; no panel at all gives a figure that says so."""
    rows = [(label, panels) for label, panels in rows if panels]
    n_rows, n_columns = max(len(rows), 1), max((len(panels) for _, panels in rows), default=1)
    fig, axes = plt.subplots(n_rows, n_columns, figsize=(3.0 * n_columns, 6.0 * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for (label, panels), row_axes in zip(rows, axes):
        for ax, panel in zip(row_axes, panels):
            ax.axis("on")
            panel.draw(ax)
        row_axes[0].set_ylabel(f"{label}\nz (mm)", fontsize=7)
        row_axes[0].legend(loc="lower left", fontsize=6)
    if not rows:
        axes[0, 0].text(0.5, 0.5, "no study scored", ha="center", va="center")
    fig.suptitle(heading, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
