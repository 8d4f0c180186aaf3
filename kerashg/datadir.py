"""The one setting for where real data lives: `$KERASHG_DATA`.

Tests, examples, benchmarks and export calibration find the real data sets
(MPII, COCO, LSP, LSP-extended; laid out as in `../shared/data`) below this
folder. Unset, it is `../shared/data` beside the repository (the layout of a
source checkout; an installed copy without that folder simply finds no data).
Standard library only.
"""

from __future__ import annotations

import os
import pathlib

#: The environment variable that names the real-data folder.
DATA_ENV = "KERASHG_DATA"

_BESIDE_REPOSITORY = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def data_root() -> pathlib.Path:
    """The real-data folder: `$KERASHG_DATA`, else `../shared/data` beside the repository."""
    value = os.environ.get(DATA_ENV, "")
    return pathlib.Path(value).expanduser() if value else _BESIDE_REPOSITORY
