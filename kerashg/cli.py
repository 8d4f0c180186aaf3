"""One front for every command line of the project.

    from kerashg import cli

    def build_parser():                      # imports no TensorFlow
        parser = cli.parser("python -m kerashg.predict", __doc__)
        ...
        return parser

    def run(args):                           # imports TensorFlow if it needs it
        ...

    def main(argv=None):
        return cli.run(build_parser, run, argv)

What `cli.run` does, in order:

1. Sets TensorFlow's CPU defaults and silences its start-up logging, both
   *before* TensorFlow can load (`tensorflow_defaults`, `quiet_tensorflow`):
   oneDNN kernels on (`TF_ENABLE_ONEDNN_OPTS=1`, see `_ENV_DEFAULTS`);
   `TF_CPP_MIN_LOG_LEVEL`, and, for the lines TensorFlow's shared libraries
   print before logging is set up (absl's preamble, the CUDA stub, the CPU
   feature notice), the first `import tensorflow` runs with the
   process's stderr captured; those known lines are dropped and anything else
   it printed is written back. No oneDNN, CUDA or absl lines on a normal run;
   `KERASHG_VERBOSE=1` keeps them all.
2. Builds the parser and parses the arguments; `--help` and argument errors
   answer before any TensorFlow import (well under a second).
3. Calls `run(args)`. An `InputError` (the project's error for bad user input,
   `kerashg.errors`), a missing file, a permission error or a full disk becomes one line
   `error: ...` on stderr and exit status 2; `KeyboardInterrupt` exits 130
   quietly. Any other exception is a bug of ours and keeps its traceback.

This module imports only the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from kerashg.errors import InputError

#: Exit status of a user error (as argparse uses for a bad option).
USAGE_EXIT = 2

_ENV_DEFAULTS = {
    # TensorFlow's oneDNN CPU kernels. TensorFlow turns them on by itself only on
    # CPUs with AVX512_VNNI, AVX512_BF16 or AMX; on an AVX2 CPU (this project's
    # 2-core EPYC on some days) it runs its Eigen kernels, whose convolution
    # backward passes are slow. Measured there, the same seed and commit: the
    # main job's step 0.297 -> 0.257 s (1.16x), the 2-stack 256-filter 256^2
    # hourglass 1.65 -> 2.01 training images/s (1.22x, `benchmarks.model`).
    # A user's own `TF_ENABLE_ONEDNN_OPTS=0` wins.
    "TF_ENABLE_ONEDNN_OPTS": "1",
}

_ENV_QUIET = {
    # C++ logging: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR (the CUDA
    # cuInit "error" on a CPU machine is logged at ERROR level).
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # absl's "All log messages before absl::InitializeLog()" preamble.
    "GLOG_minloglevel": "3",
    # The oneDNN "custom operations are on" notice is an INFO line; level 3
    # hides it too.
}


def lazy_attributes(package: str, names: dict[str, str], modules: Sequence[str] = ()):
    """PEP 562 `__getattr__` and `__dir__` for a package whose names import TensorFlow.

    Args:
        package: the package's `__name__`.
        names: attribute → the module that defines it, imported on first access.
        modules: submodules returned as attributes on first access.

    Returns:
        `(__getattr__, __dir__)`, to assign in the package's `__init__.py`.
    """
    import importlib

    namespace = sys.modules[package].__dict__

    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in modules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(names) | set(modules))

    return __getattr__, __dir__


def tensorflow_defaults() -> None:
    """Sets the commands' TensorFlow CPU defaults (`_ENV_DEFAULTS`); call before
    TensorFlow is imported (afterwards it changes nothing). Environment variables
    the user set explicitly are kept. The library itself (`import kerashg`) sets
    nothing: a program that imports it keeps TensorFlow's own defaults.
    """
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def quiet_tensorflow() -> None:
    """Silences TensorFlow's start-up logging; call before TensorFlow is imported.

    Does nothing when `KERASHG_VERBOSE` is set to a non-empty value other than
    `0`. Environment variables the user set explicitly are kept.
    """
    if os.environ.get("KERASHG_VERBOSE", "0") not in ("", "0"):
        return
    for key, value in _ENV_QUIET.items():
        os.environ.setdefault(key, value)
    if "tensorflow" in sys.modules:
        _quiet_python_loggers()
    elif not any(isinstance(finder, _QuietImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder())


# Lines TensorFlow's libraries print to the process's stderr while it loads,
# before its logging settings apply.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
    r"|To enable the following instructions:"
    r"|oneDNN custom operations are on)"
)


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Runs the first `import tensorflow` with file descriptor 2 captured."""

    _busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self._busy:
            return None
        type(self)._busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            type(self)._busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as captured:
            os.dup2(captured.fileno(), 2)
            try:
                self.loader.exec_module(module)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                text = captured.read().decode("utf-8", "replace")
                kept = [line for line in text.splitlines() if line and not _NOISE.match(line)]
                if kept:
                    print("\n".join(kept), file=sys.stderr)
        _quiet_python_loggers()

    def __getattr__(self, name):
        return getattr(self.loader, name)


def _quiet_python_loggers() -> None:
    import logging

    for name in ("tensorflow", "absl", "h5py", "tf2onnx"):
        logging.getLogger(name).setLevel(logging.ERROR)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows every option's default.

    Options whose default is None and flags (no value) show none: their help
    says what happens without them, rather than `(default: None)`. A list
    default reads as typed: `(default: savedmodel tflite)`.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.nargs == 0:
            return action.help or ""
        if isinstance(action.default, (list, tuple)) and "%(default)" not in (action.help or ""):
            typed = " ".join(map(str, action.default)) or "none"
            return f"{action.help or ''} (default: {typed.replace('%', '%%')})"
        return super()._get_help_string(action)


# The command as the user typed it where that is not its module's own name (the
# `kerashg` console script sets it around the command it runs; `invoked_as`).
_invoked_as: str | None = None


@contextlib.contextmanager
def invoked_as(name: str):
    """Within it, every `parser` is named `name` (e.g. "kerashg train"), so usage
    lines and errors show the command as the user typed it."""
    global _invoked_as
    previous, _invoked_as = _invoked_as, name
    try:
        yield
    finally:
        _invoked_as = previous


def parser(prog: str, description: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """An `ArgumentParser` named as the user types the command, defaults shown.

    Args:
        prog: the command as typed, e.g. `"python -m training.train"` (within
            `invoked_as`, its name instead).
        description: usually the module's docstring.
        **kwargs: passed to `argparse.ArgumentParser` (e.g. `epilog`).
    """
    kwargs.setdefault("formatter_class", HelpFormatter)
    result = argparse.ArgumentParser(prog=_invoked_as or prog, description=description, **kwargs)
    # argparse takes "-10,-10,50,50" (a --box at the image's corner) for an option and
    # answers "expected one argument"; numbers and comma-separated numbers are values.
    result._negative_number_matcher = _NEGATIVE_NUMBERS
    return result


_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NEGATIVE_NUMBERS = re.compile(rf"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:,{_NUMBER})*$")


def check_positive(args: argparse.Namespace, *names: str) -> None:
    """Refuses an option of `names` that is below 1 (None: not given, allowed).

    Raises:
        InputError: `--NAME must be >= 1. Received: VALUE`.
    """
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1. Received: {value}")


# An `OSError` a user fixes (the disk full, over quota, or mounted read-only): one
# `error:` line, not a traceback.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def error_line(error: BaseException) -> str:
    """The one line printed for a user error."""
    if (
        isinstance(
            error, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
        )
        or (isinstance(error, OSError) and error.errno in DISK_ERRNOS)
    ) and getattr(error, "filename", None):
        reason = error.strerror or type(error).__name__
        return f"error: {error.filename}: {reason}"
    text = " ".join(str(error).split()) or type(error).__name__
    return f"error: {text}"


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types a command reports as one `error:` line."""
    return (InputError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def run(
    build_parser: Callable[[], argparse.ArgumentParser],
    command: Callable[[argparse.Namespace], Any],
    argv: Sequence[str] | None = None,
) -> Any:
    """Parses `argv`, runs `command(args)` and turns user errors into one line.

    Returns:
        What `command` returned (an int is the caller's exit status).

    Raises:
        SystemExit: 2 after printing `error: ...` for a user error; 130 on
            Ctrl-C.
    """
    tensorflow_defaults()
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    try:
        return command(args)
    except user_errors() as error:
        print(error_line(error), file=sys.stderr)
        raise SystemExit(USAGE_EXIT) from None
    except OSError as error:
        if error.errno not in DISK_ERRNOS:
            raise
        print(error_line(error), file=sys.stderr)
        raise SystemExit(USAGE_EXIT) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
