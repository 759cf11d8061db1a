"""The one exception type for bad user input, and the one-line messages about input files."""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

__all__ = ["SpineInputError", "one_line", "warn"]


class SpineInputError(ValueError):
    """Input that cannot be used, with the file it came from.

    ``str(err)`` is the one line the command-line tools print, ``"<path>: <problem>"``, before exiting with code 2.

    Args:
        path: the offending file or folder.
        problem: what is wrong with it, as a short phrase a user can act on.
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def one_line(text: Any, limit: int = 200) -> str:
    """``text`` as one line of at most ``limit`` characters (whitespace runs collapsed)."""
    s = re.sub(r"\s+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def warn(path: str | os.PathLike, message: str, store: list[str] | None = None) -> None:
    """Record ``message`` in ``store`` (a meta ``warnings`` list) and emit it as a ``UserWarning`` naming ``path``."""
    if store is not None:
        store.append(message)
    warnings.warn(f"{os.fspath(path)}: {message}", UserWarning, stacklevel=3)
