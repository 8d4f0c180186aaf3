"""Atomic writes: build an artifact under a temporary name, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile

from kerashg.errors import InputError


class OutputExistsError(InputError, FileExistsError):
    """An artifact would replace an existing file without `force` (`--force`)."""


def check_writable(out: str | os.PathLike, force: bool) -> None:
    """Raises `OutputExistsError` (a FileExistsError) if `out` exists and `force` is False."""
    out = pathlib.Path(out)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} already exists; pass force=True (--force) to overwrite it")


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike, *, force: bool = False, directory: bool = False):
    """Yields a temporary path in `out`'s folder; renames it to `out` on success.

    On an exception inside the block the temporary file or folder is deleted and
    `out` is left as it was, so a failed or rejected export never leaves a
    half-written or wrong artifact under the final name.

    Args:
        out: final path.
        force: replace an existing `out` (the old one is moved aside, then deleted
            once the new one is in place).
        directory: the artifact is a folder (the yielded path does not exist yet
            and the block creates it) rather than a file.
    """
    out = pathlib.Path(out)
    check_writable(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp = tmp_root / out.name
    try:
        yield tmp
        if not (tmp.is_dir() if directory else tmp.is_file()):
            raise RuntimeError(f"export wrote nothing at {tmp}")
        old = None
        if out.exists() or out.is_symlink():
            check_writable(out, force)
            old = tmp_root / (out.name + ".old")
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def path_size(path: str | os.PathLike) -> int:
    """Size in bytes of a file, or of every file below a folder."""
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
