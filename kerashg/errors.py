"""The project's one error type for bad user input.

Every reader, loader and command raises `InputError` (or a subclass) for a file,
a field or an option the user gave that cannot be used as it is; the message
names the file, the field and the value found, and what was expected. The
command-line front (`kerashg.cli.run`) prints such an error as one
`error: ...` line and exits with status 2. Anything else is a bug of ours and
keeps its traceback.

This module imports nothing but the standard library, so that the TensorFlow-free
runtime and every `--help` can use it.
"""

from __future__ import annotations

import os

__all__ = ["AnnotationError", "InputError", "input_error"]


class InputError(ValueError):
    """Input the user gave that cannot be used: `path`, `field` and `index` say where.

    Args:
        message: what was found and what was expected.
        path: the file (or folder) at fault, or None for a command-line option.
        field: the field, key or option at fault, or None.
        index: the record (row, person, frame) at fault, or None.

    The text reads `PATH: record INDEX: field 'FIELD': MESSAGE`, leaving out the
    parts that are None.
    """

    def __init__(
        self,
        message: str,
        path: str | os.PathLike | None = None,
        field: str | None = None,
        index: int | str | None = None,
    ):
        self.path = None if path is None else str(path)
        self.field, self.index, self.reason = field, index, message
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if index is not None:
            parts.append(f"record {index}")
        if field is not None:
            parts.append(f"field {field!r}")
        parts.append(message)
        super().__init__(": ".join(parts))


class AnnotationError(InputError):
    """A malformed annotation or prediction file: the message names the file, the record and the field.

    Reads `PATH: record INDEX: field 'FIELD': MESSAGE` (no record part where
    `index` is None, no field part where `field` is None). Every reader of
    `kerashg.data` and the evaluation's file loaders (`kerashg.evaluation.files`)
    raise it.
    """

    def __init__(self, path, index, field, message):
        super().__init__(message, path=path, field=field, index=index)


def input_error(path, field, found, expected) -> InputError:
    """`InputError` in the standard wording: `field 'F': expected E. Received: found`."""
    return InputError(f"expected {expected}. Received: {found!r}", path=path, field=field)
