"""The file formats the readers and the evaluation share: JSON, MATLAB `.mat`, HDF5.

Each opener names a file it cannot use with an `AnnotationError` (empty, not of
its kind, damaged) instead of a library's own exception, so every command
reports it as one `error:` line. h5py and SciPy are imported on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib

import numpy as np

from kerashg.errors import AnnotationError, InputError


def read_json(path, field: str | None = None):
    """The parsed JSON of `path`, or `AnnotationError` naming the file."""
    path = pathlib.Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise AnnotationError(path, None, field, "is a folder, not a JSON file") from None
    if not data.strip():
        raise AnnotationError(path, None, field, f"is empty ({len(data)} bytes); expected JSON")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise AnnotationError(
            path, None, field, f"is not UTF-8 text, so not JSON ({error.reason} at byte "
            f"{error.start})",
        ) from None  # fmt: skip
    except json.JSONDecodeError as error:
        raise AnnotationError(path, None, field, f"is not valid JSON: {error}") from None


def load_mat(path, **kwargs) -> dict:
    """`scipy.io.loadmat(path, **kwargs)`, or `AnnotationError` naming a file that is not one.

    MATLAB v7.3 files are HDF5 inside: they are named as such (read them with h5py).
    """
    import scipy.io

    path = pathlib.Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise AnnotationError(path, None, None, "is empty (0 bytes); expected a MATLAB .mat file")
    try:
        return scipy.io.loadmat(str(path), **kwargs)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except NotImplementedError as error:  # scipy's answer to v7.3 (HDF5) files
        raise AnnotationError(
            path, None, None, f"is a MATLAB v7.3 (HDF5) file, which is not read here ({error})"
        ) from None
    except Exception as error:  # scipy raises many types for a damaged file
        raise AnnotationError(
            path, None, None, f"is not a readable MATLAB .mat file ({first_line(error)})"
        ) from None


@contextlib.contextmanager
def open_h5(path: str | os.PathLike):
    """`h5py.File(path, "r")`, or `AnnotationError` naming a file that is not HDF5."""
    import h5py

    path = pathlib.Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise AnnotationError(path, None, None, "is empty (0 bytes); expected an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as error:
        raise AnnotationError(
            path, None, None, f"is not a readable HDF5 file ({first_line(error)})"
        ) from None
    with f:
        try:
            yield f
        except (OSError, KeyError) as error:  # a damaged dataset inside the file
            raise AnnotationError(
                path, None, None, f"is a damaged HDF5 file ({first_line(error)})"
            ) from None


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, or its type name when it has none."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The top-level arrays of an HDF5 (`.h5`, MATLAB v7.3 `.mat`) or MATLAB v5 `.mat` file.

    MATLAB v7.3 files store arrays transposed; they are transposed back so shapes
    read as in MATLAB, as `scipy.io.loadmat` gives them for older files.

    Args:
        path: str or Path.

    Returns:
        dict name → array (datasets / variables only; HDF5 groups and MATLAB's
        `__header__`-style entries left out).

    Raises:
        InputError: no such file ("file not found").
        AnnotationError: an empty file, or one that is neither HDF5 nor MATLAB.
    """
    import h5py

    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    suffix = path.suffix.lower()
    if suffix == ".h5" or h5py.is_hdf5(path):
        with open_h5(path) as f:
            arrays = {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}
        if suffix == ".mat":
            arrays = {k: np.asarray(v).T for k, v in arrays.items()}
        return arrays
    # MATLAB's own types: a logical array reads as bool (scipy's default gives uint8).
    mat = load_mat(path, mat_dtype=True)
    return {k: v for k, v in mat.items() if not k.startswith("__")}
