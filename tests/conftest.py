"""Shared pytest fixtures: tiny configurations and the real data folder."""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerashg.datadir import DATA_ENV, data_root

DATA_ROOT = data_root()

# Tiny configuration every fast test uses unless it says otherwise.
TINY = dict(num_stacks=2, depth=2, filters=16, input_shape=(64, 64, 3))


def data_path(*parts: str) -> pathlib.Path:
    """Path below the real data folder, skipping the test when it is absent."""
    path = DATA_ROOT.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set {DATA_ENV} to the data folder)")
    return path


@pytest.fixture
def tiny_config():
    return dict(TINY)
