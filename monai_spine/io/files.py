"""Writing files whole or not at all, and the plain values the project's JSON files hold.

Every writer of the project goes through :func:`atomic_path` (one file) or :func:`staged_output` (a command's
output folder): a reader sees the old file, the complete new one, or none; never half of one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DECIMALS", "as_plain", "rounded", "json_text", "atomic_path", "atomic_write_text", "staged_output"]

DECIMALS = 3
"""Coordinates are written rounded to 10^-DECIMALS of their unit (0.001 mm, or 0.001 pixel)."""

_FLAT_LIST = re.compile(r"\[\n\s*([^\[\]{}\"]*?)\n\s*\]")
"""A JSON list, as ``json.dumps(indent=...)`` writes it, that holds only numbers (or literals)."""


def as_plain(value: Any) -> Any:
    """``value`` as plain Python types that JSON and MONAI's ``meta`` can hold.

    Mappings become dicts with str keys; numpy scalars and arrays, tuples and other iterables become Python
    numbers and lists; ``str``/``int``/``float`` subclasses (e.g. pydicom's ``DSfloat``) their base type; paths
    str; non-finite floats ``None`` (JSON's ``null``). Anything else is returned as is, so that ``json.dumps``
    refuses it with a ``TypeError``.
    """
    if isinstance(value, Mapping):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [as_plain(v) for v in value]
    return value


def rounded(points, decimals: int = DECIMALS) -> list:
    """Points ``(N, D)`` (any shape) → nested lists of floats rounded to ``decimals`` (``-0.0`` written ``0.0``)."""
    return (np.round(np.asarray(points, dtype=np.float64), decimals) + 0.0).tolist()


def json_text(document: Mapping) -> str:
    """Indented JSON (one space) ending in a newline, with each innermost list of numbers (a point) on one line.

    Raises:
        ValueError: NaN or infinite numbers (use :func:`as_plain` first, which turns them into ``null``).
        TypeError: values JSON cannot hold.
    """
    text = json.dumps(document, indent=1, allow_nan=False)
    return _FLAT_LIST.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text) + "\n"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty sibling of ``path`` to write; rename it over ``path`` on success, delete it on failure.

    The temporary name keeps ``path``'s suffixes (a ``.nii.gz`` stays a ``.nii.gz`` for nibabel) and is hidden
    (``.<random>.<name>``); it is created with the permissions of a new file (``0o666`` less the umask).
    """
    path = Path(path)
    tmp = path.with_name(f".{secrets.token_hex(6)}.{path.name}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, line ends as given) to ``path`` atomically (:func:`atomic_path`), synced to disk."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def staged_output(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield a private folder to write a command's results into; move them to ``out_dir`` only on success.

    On any exception the private folder is deleted and ``out_dir`` is left as it was (removed again if this
    call created it), so a failed command leaves nothing half-written. Files already in ``out_dir`` with the
    same names are replaced only once everything has been written.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_dir))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    for item in sorted(stage.iterdir()):
        target = out_dir / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    stage.rmdir()
