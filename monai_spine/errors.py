"""The one exception type for bad user input."""

from __future__ import annotations

import os

__all__ = ["SpineInputError"]


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
