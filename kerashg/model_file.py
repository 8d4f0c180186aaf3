"""Loading a `.keras` file: the one loader of every command (predict, evaluate, export,
`--init-from`), with one error line for each way a file can be wrong.

    from kerashg.model_file import load_keras_model

    model = load_keras_model("model.keras")   # InputError naming the file, or a model

In order, before anything is built: the file is a whole zip archive with a
`config.json` (`check_keras_file`); `config.json` is small (`MAX_CONFIG_BYTES`:
a 50 MB name would take minutes to build into a graph) and describes a kerashg
pose model (`ACNN`, `StackedHourglass`), not a Keras classifier or a `Lambda`,
and names no module outside Keras and kerashg (a config naming `os.system` or
`builtins.eval` is refused, not imported); no string in it is longer than
`MAX_CONFIG_STRING`. Then Keras builds it in safe mode, and what Keras refuses
(an input size the network cannot take, a codec of another size, weights of
another keypoint count, a truncated `model.weights.h5`) is one line too.
Finally the model must give a `heatmaps` output of its `num_keypoints`
channels.

This module imports Keras only inside `load_keras_model`.
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile
from typing import TYPE_CHECKING

from kerashg.errors import InputError

if TYPE_CHECKING:
    import keras

#: Largest `config.json` read: a kerashg model's is under 4 KB.
MAX_CONFIG_BYTES = 1 << 20
#: Longest string of a config (a layer name, a codec field).
MAX_CONFIG_STRING = 1000
# Modules a config may name: Keras' own and kerashg's.
_MODULES = ("keras", "kerashg")


def check_keras_file(path: str | os.PathLike) -> dict:
    """Refuses a `.keras` file that is not a whole kerashg model archive, naming what is wrong.

    Returns:
        The parsed `config.json`.

    Raises:
        FileNotFoundError: `path` does not exist.
        InputError: empty, not a zip archive (a text file, a truncated download),
            a damaged member, no `config.json`, or a `config.json` that is too
            large, not JSON, not a kerashg pose model, or names other code.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Keras model not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise InputError("is empty (0 bytes); expected a .keras model (a zip archive)", path=path)
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"is not a .keras model: not a zip archive ({size} bytes; truncated, or another "
            "kind of file)",
            path=path,
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            damaged = archive.testzip()
            config_info = members.get("config.json")
            if config_info is not None and config_info.file_size <= MAX_CONFIG_BYTES:
                text = archive.read("config.json")
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise InputError(f"is a damaged zip archive ({error})", path=path) from None
    if damaged is not None:
        raise InputError(f"is a damaged .keras archive (bad CRC in {damaged!r})", path=path)
    if config_info is None:
        raise InputError(
            f"is a zip archive but not a .keras model (no config.json; holds {list(members)[:5]})",
            path=path,
        )
    if config_info.file_size > MAX_CONFIG_BYTES:
        raise InputError(
            f"config.json is {config_info.file_size:,} bytes; a kerashg model's is a few KB "
            f"(at most {MAX_CONFIG_BYTES:,} are read)",
            path=path,
        )
    if "model.weights.h5" not in members:
        raise InputError("is a .keras archive without model.weights.h5", path=path)
    try:
        config = json.loads(text)
    except ValueError as error:
        raise InputError(f"config.json is not valid JSON ({error})", path=path) from None
    _check_config(config, path)
    return config


def _check_config(config, path: pathlib.Path) -> None:
    """Refuses a config that is not a kerashg model's or names code outside Keras and kerashg."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise InputError("config.json is not a Keras model configuration", path=path)
    name = config.get("registered_name") or config.get("class_name")
    if not str(config.get("module", "")).startswith("kerashg.") or not str(name).startswith(
        "kerashg>"
    ):
        raise InputError(
            f"is a Keras model but not a kerashg pose model (class {str(name)[:80]!r} of module "
            f"{str(config.get('module'))[:80]!r}); expected an ACNN or StackedHourglass .keras",
            path=path,
        )
    for where, value in _walk(config, "config.json"):
        if isinstance(value, str) and len(value) > MAX_CONFIG_STRING:
            raise InputError(
                f"{where} is a string of {len(value):,} characters; at most "
                f"{MAX_CONFIG_STRING} are taken",
                path=path,
            )
        if isinstance(value, dict) and "module" in value:
            module = str(value["module"])
            if module.split(".")[0] not in _MODULES or value.get("class_name") == "Lambda":
                raise InputError(
                    f"{where} names {module[:80]}.{str(value.get('class_name'))[:80]}; a kerashg "
                    "model holds only Keras and kerashg objects (nothing else is imported or run)",
                    path=path,
                )


def _walk(value, where: str):
    """(where, value) of every value of a JSON tree, the tree first."""
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


def load_keras_model(path: str | os.PathLike) -> keras.Model:
    """Loads a kerashg `.keras` file in Keras' safe mode, refusing what cannot be used.

    Raises:
        FileNotFoundError: `path` does not exist.
        InputError: one line naming the file: see the module docstring.
    """
    path = pathlib.Path(path)
    check_keras_file(path)
    import keras

    import kerashg.models  # noqa: F401  (registers kerashg's layers)

    try:
        model = keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001  Keras raises many types for a bad archive
        raise InputError(
            f"cannot be loaded as a kerashg model ({_first_reason(error)})", path=path
        ) from None
    _check_model(model, path)
    return model


def _first_reason(error: BaseException) -> str:
    """The innermost cause's message, on one line, cut to 300 characters."""
    while error.__cause__ is not None or error.__context__ is not None:
        inner = error.__cause__ or error.__context__
        if not str(inner).strip():
            break
        error = inner
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text[:300]}"


def _check_model(model, path: pathlib.Path) -> None:
    """The model built gives `heatmaps` of its `num_keypoints` channels."""
    outputs = model.output if isinstance(model.output, dict) else {}
    heatmaps = outputs.get("heatmaps")
    num_keypoints = getattr(model, "num_keypoints", None)
    if heatmaps is None or num_keypoints is None or heatmaps.shape[-1] != num_keypoints:
        found = {k: tuple(v.shape) for k, v in outputs.items()} or type(model.output).__name__
        raise InputError(
            f"is not a kerashg pose model: outputs {found}; expected 'heatmaps' (B, S, H, W, "
            f"{num_keypoints}) of its num_keypoints channels",
            path=path,
        )
