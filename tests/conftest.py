"""Shared pytest fixtures: tiny configurations and the real data folder."""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from kerashg.datadir import DATA_ENV, data_root
from kerashg.runtime import Runner

DATA_ROOT = data_root()

# The start of a `python -c` script in which `import tensorflow` and `import keras`
# fail: what runs after it shows the TensorFlow-free path (LiteRT, onnxruntime).
BLOCK_TENSORFLOW = """
import importlib.abc, json, pathlib, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError(f"blocked for this test: {name}")
        return None

sys.meta_path.insert(0, Blocker())
"""

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


class JitterRunner(Runner):
    """A stand-in model: crop keypoints = the crop's centre + noise seeded by the
    crop, so the same crops give the same noise (a smoothed and an unsmoothed run
    see the same raw keypoints). 64x64 input, `num_keypoints` joints scoring `score`."""

    format = "jitter"

    def __init__(self, num_keypoints: int = 16, score: float = 1.0):
        super().__init__()
        self.input_size = (64, 64)
        self.joints = num_keypoints
        self.score = score

    def keypoints(self, images):
        outputs = []
        for image in np.asarray(images):
            rng = np.random.default_rng(int(image.astype(np.int64).sum()))
            xy = 32 + rng.normal(0, 4, (self.joints, 2))
            outputs.append(np.column_stack([xy, np.full(self.joints, self.score)]))
        return np.asarray(outputs, np.float32)
