"""``overlay.png`` and ``report.png`` (matplotlib, no display needed).

Images are ``(W, H)`` arrays in the coronal or lateral image frame of ``docs/frames.md``; they are drawn in
standard radiological display (patient's right on the viewer's left, head up) with axes in mm, so curves in
mm are drawn as they are.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from monai_spine.geometry.curves import SpineCurves

__all__ = ["save_overlay", "save_biplanar_overlay", "save_report", "spine_window"]

_CENTRE = dict(color="#ffd400", lw=1.6)
_BOUNDARY = dict(color="#00c8ff", lw=1.0, ls="--")
_DPI = 110


def spine_window(image: np.ndarray, spacing_mm, first_mm: np.ndarray, second_mm: np.ndarray) -> tuple[float, float]:
    """Grey levels to show a ``(W, H)`` image with, set by the spine: the pixels between its two boundary curves
    (``(N, 2)`` image-frame mm each, point ``i`` of both at one height) take the window's upper two thirds, from
    their 1st to their 99th percentile, and tissue darker than the spine by half as much again the lower third, so
    air beside a lateral or a dense pelvis does not take the grey levels. The whole image's 1st-99th percentiles
    when fewer than 16 such pixels lie on it."""
    spacing = np.asarray(spacing_mm, dtype=float)
    rows = np.round(first_mm[:, 1] / spacing[1]).astype(int)
    columns = np.sort(np.stack([first_mm[:, 0], second_mm[:, 0]], axis=1) / spacing[0], axis=1)
    pixels = [image[max(int(np.ceil(c0)), 0):max(int(np.floor(c1)) + 1, 0), row]
              for row, (c0, c1) in zip(rows, columns) if 0 <= row < image.shape[1] and np.isfinite(c0 + c1)]
    spine = np.concatenate(pixels) if pixels else np.empty(0)
    if spine.size < 16:
        lo, hi = np.percentile(image, [1, 99])
    else:
        low, hi = np.percentile(spine, [1, 99])
        lo = max(low - 0.5 * (hi - low), np.percentile(image, 1))
    return float(lo), float(hi if hi > lo else lo + 1)


def _show_image(ax, image: np.ndarray, spacing_mm, first_mm: np.ndarray, second_mm: np.ndarray) -> None:
    """Draw a ``(W, H)`` image with mm axes, row 0 at the top, in the grey levels :func:`spine_window` sets from the
    boundary curves ``first_mm`` and ``second_mm``."""
    image = np.asarray(image, dtype=np.float32)
    lo, hi = spine_window(image, spacing_mm, first_mm, second_mm)
    shown, (sx, sz) = _display_resolution(ax, image, spacing_mm)
    w, h = shown.shape
    extent = (-0.5 * sx, (w - 0.5) * sx, (h - 0.5) * sz, -0.5 * sz)
    ax.imshow(shown.T, cmap="gray", vmin=lo, vmax=hi, extent=extent, interpolation="bilinear")


def _display_resolution(ax, image: np.ndarray, spacing_mm) -> tuple[np.ndarray, tuple[float, float]]:
    """A ``(W, H)`` image averaged over blocks of ``k × k`` pixels, ``k`` the largest whole factor that keeps it at
    least as fine as the axes' box in the saved PNG (its last partial blocks dropped), and its pixel spacing. What
    the PNG shows is the same (matplotlib would average the pixels into its own as it resamples), but matplotlib maps
    every pixel to a colour and resamples twice (``bbox_inches="tight"`` draws the figure twice): on a 0.5 mm
    whole-body DXA that took 0.11 s of the overlay's 0.34 s on 2 cores."""
    box = ax.get_position()
    width_px, height_px = box.width * ax.figure.get_figwidth() * _DPI, box.height * ax.figure.get_figheight() * _DPI
    k = max(1, int(min(image.shape[0] / width_px, image.shape[1] / height_px)))
    if k == 1:
        return image, tuple(spacing_mm)
    w, h = image.shape[0] // k, image.shape[1] // k
    blocks = image[: w * k, : h * k].reshape(w, k, h, k).mean(axis=(1, 3))
    return blocks, (spacing_mm[0] * k, spacing_mm[1] * k)


def _draw_curves(ax, centre, first, second, labels) -> None:
    ax.plot(centre[:, 0], centre[:, 1], label=labels[0], **_CENTRE)
    ax.plot(first[:, 0], first[:, 1], label=labels[1], **_BOUNDARY)
    ax.plot(second[:, 0], second[:, 1], **_BOUNDARY)


def _finish(fig, path: str | os.PathLike, inside=()) -> None:
    """Save ``fig`` as a PNG and close it. ``inside``: the artists of a fixed layout (axes with their labels, a
    text): the figure is saved as laid out when they all lie within it, else cropped or grown to its contents
    (``bbox_inches="tight"``, which draws the figure twice: 0.1-0.15 s of a picture on 2 cores)."""
    renderer = fig.canvas.get_renderer()
    fits = bool(inside) and all(fig.bbox.contains(*corner) for artist in inside
                                for corner in artist.get_tightbbox(renderer).corners())
    # zlib level 1: the same pixels as the default level 6, written in a fraction of the time, a few % larger
    fig.savefig(path, dpi=_DPI, bbox_inches=None if fits else "tight", pil_kwargs={"compress_level": 1})
    plt.close(fig)


def _margins(fig, left: float, right: float, bottom: float, top: float, wspace: float = 0.2) -> None:
    """Lay out ``fig``'s subplots with margins in inches (labels and titles fit in them; :func:`_finish` checks)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=wspace)


def _figure_height(images, spacings_mm, panel_width: float) -> float:
    """Inches of a row of image panels ``panel_width`` inches wide: the tallest image's height-to-width in mm, plus
    room for titles and labels, so a short field (a lumbar image) leaves no blank band and a whole body fits."""
    ratio = max(image.shape[1] * spacing[1] / (image.shape[0] * spacing[0])
                for image, spacing in zip(images, spacings_mm))
    return float(np.clip(panel_width * ratio + 1.5, 3.5, 12.0))


def save_overlay(path, image: np.ndarray, spacing_mm, curves: SpineCurves, title: str = "") -> None:
    """The coronal curves over the input image (coronal image frame), saved as a PNG at ``path``."""
    fig, ax = plt.subplots(figsize=(5, _figure_height([image], [spacing_mm], 4.0)))
    _margins(fig, left=0.8, right=0.15, bottom=0.6, top=0.4)
    _show_image(ax, image, spacing_mm, curves.coronal_right, curves.coronal_left)
    _draw_curves(ax, curves.coronal_centre, curves.coronal_right, curves.coronal_left, ("centre line", "boundaries"))
    ax.set_xlabel("x (mm, toward patient's left)")
    ax.set_ylabel("z (mm, toward feet)")
    ax.text(0.02, 0.5, "R", transform=ax.transAxes, color="w", fontsize=14, weight="bold", va="center")
    ax.text(0.95, 0.5, "L", transform=ax.transAxes, color="w", fontsize=14, weight="bold", va="center")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "Spine curves")
    _finish(fig, path, inside=(ax,))


_VIEW_AXES = {"ap": ("x (mm, toward patient's left)", "coronal"), "lateral": ("y (mm, anterior)", "sagittal")}


def save_biplanar_overlay(path, images, spacings_mm, view_curves, title: str = "") -> None:
    """Both radiographs side by side, each with its curves, saved as a PNG at ``path``.

    Args:
        images: the AP and lateral images ``(W, H)``; ``spacings_mm``: their pixel spacing ``(column, row)``.
        view_curves: per view ``(centre, low, high)``, each ``(N, 2)`` in that image's frame, mm (pixel × spacing).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, _figure_height(images, spacings_mm, 3.8)))
    _margins(fig, left=0.8, right=0.15, bottom=0.6, top=0.75, wspace=0.35)
    for ax, image, spacing, curves, view in zip(axes, images, spacings_mm, view_curves, ("ap", "lateral")):
        _show_image(ax, image, spacing, *curves[1:])
        _draw_curves(ax, *curves, ("centre line", "boundaries"))
        ax.set_xlabel(_VIEW_AXES[view][0])
        ax.set_ylabel("z (mm, toward feet)")
        ax.set_title(f"{view.upper() if view == 'ap' else 'lateral'}: {_VIEW_AXES[view][1]} curves", fontsize=10)
    axes[0].legend(loc="lower right", fontsize=8)
    heading = fig.suptitle(title or "Spine curves")
    _finish(fig, path, inside=(*axes, heading))


def _measure_lines(measures: dict) -> list[str]:
    names = (
        ("coronal_cobb_deg", "Coronal Cobb"),
        ("thoracic_kyphosis_deg", "Thoracic kyphosis"),
        ("lumbar_lordosis_deg", "Lumbar lordosis"),
        ("plane_of_max_curvature_deg", "Plane of max. curvature"),
    )
    return [f"{label}: {measures[key]:.1f}°" for key, label in names if isinstance(measures.get(key), (int, float))]


def _mark_segment(ax, segment: dict | None, label: str, colour: str) -> None:
    """Mark where a curve's angle is measured: its two end points (tangent points) and its apex."""
    if not segment:
        return
    ends = np.array([segment["upper_mm"], segment["lower_mm"]])
    ax.plot(ends[:, 0], ends[:, 1], ls="none", marker="_", ms=22, mew=2.5, color=colour)
    apex = segment["apex_mm"]
    ax.plot(*apex, marker="o", ms=5, color=colour)
    ax.annotate(f"{label} {segment['angle_deg']:.0f}°", apex, xytext=(6, 0), textcoords="offset points",
                color=colour, fontsize=9, va="center", weight="bold")


def save_report(path, curves: SpineCurves, measures: dict, title: str = "", warnings=()) -> None:
    """One page: coronal and sagittal curves to scale, a 3D view of the centre line and the measures."""
    fig = plt.figure(figsize=(11, 7.5))
    _margins(fig, left=0.9, right=0.3, bottom=0.6, top=0.9, wspace=0.3)
    coronal = fig.add_subplot(1, 3, 1)
    _draw_curves(coronal, curves.coronal_centre, curves.coronal_right, curves.coronal_left, ("centre", "boundaries"))
    coronal.set(title="Coronal (viewed from the front)", xlabel="x (mm, patient's left →)", ylabel="z (mm, feet ↓)")
    sagittal = fig.add_subplot(1, 3, 2, sharey=coronal)
    _draw_curves(
        sagittal, curves.sagittal_centre, curves.sagittal_posterior, curves.sagittal_anterior, ("centre", "boundaries")
    )
    sagittal.set(title="Sagittal (viewed from the left)", xlabel="y (mm, anterior →)")
    for ax in (coronal, sagittal):
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    for segment in measures.get("coronal_curves") or []:
        _mark_segment(coronal, segment, "Cobb", "#d62728")
    _mark_segment(sagittal, measures.get("kyphosis"), "Kyphosis", "#9467bd")
    _mark_segment(sagittal, measures.get("lordosis"), "Lordosis", "#2ca02c")
    coronal.invert_yaxis()
    coronal.legend(loc="lower right", fontsize=8)
    view = fig.add_subplot(2, 3, 3, projection="3d")
    c3 = curves.curve3d()
    view.plot(c3[:, 0], c3[:, 1], -c3[:, 2], color="#d62728")
    # the vertical axis is named in the title: on a spine's narrow box its label lay over the tick labels
    view.set(xlabel="x (L)", ylabel="y (A)", title="3D centre line (mm, −z: head up)")
    view.set_aspect("equal")
    for axis, ticks in ((view.xaxis, 2), (view.yaxis, 2), (view.zaxis, 4)):
        axis.set_major_locator(matplotlib.ticker.MaxNLocator(ticks))
    view.tick_params(labelsize=7)
    text = fig.add_subplot(2, 3, 6)
    text.axis("off")
    lines = _measure_lines(measures) + [textwrap.fill(f"⚠ {w}", 42, subsequent_indent="   ") for w in warnings]
    notes = text.text(0.0, 1.0, "\n".join(lines) or "no measures", va="top", fontsize=10, family="DejaVu Sans")
    heading = fig.suptitle(title or "monai-spine report")
    _finish(fig, path, inside=(coronal, sagittal, notes, heading))
