"""Atomic writes of export artifacts (`kerashg.outputs`), and artifact sizes."""

from __future__ import annotations

import os
import pathlib

# The one atomic-write implementation lives in the library; exports use it as is.
from kerashg.outputs import OutputExistsError, atomic_output, check_writable

__all__ = ["OutputExistsError", "atomic_output", "check_writable", "path_size"]


def path_size(path: str | os.PathLike) -> int:
    """Size in bytes of a file, or of every file below a folder."""
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
