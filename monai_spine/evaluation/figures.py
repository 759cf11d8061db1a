"""``evaluation.png``: the DXA studies that scored worst, each with the bundle's mask and the true centroids."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["DxaPanel", "save_evaluation_figure"]

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


def save_evaluation_figure(path: str | os.PathLike, panels: list[DxaPanel], heading: str) -> None:
    """Write the panels side by side (a strip) to ``path`` (PNG); no panel gives a figure that says so."""
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(3.0 * max(len(panels), 1), 6.0), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        panel.draw(ax)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no DXA study scored", ha="center", va="center")
        axes[0, 0].axis("off")
    else:
        axes[0, 0].set_ylabel("z (mm)", fontsize=7)
        axes[0, 0].legend(loc="lower left", fontsize=6)
    fig.suptitle(heading, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
