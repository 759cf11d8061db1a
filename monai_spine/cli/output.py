"""All-or-nothing output folders for the command-line tools."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["staged_output"]


@contextlib.contextmanager
def staged_output(out_dir: str | os.PathLike):
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
