"""kerashg: Stacked Hourglass and ACNN heatmap pose estimation for Keras 3.

Public names: the models (`StackedHourglass`, `ACNN`), the `HeatmapCodec`, the
keypoint sets (`MPII`, `COCO`, `LSP`, `KeypointSet`), the crop transform and the
metrics, `load_model`, the named models (`list_presets()`,
`ACNN.from_preset("acnn4_lsp_128")`), and prediction: `PoseEstimator(model)(image)`
returns `Person`s, from a `.keras`, SavedModel, `.tflite` or `.onnx` artifact.

`import kerashg` itself imports no TensorFlow: the names that need Keras load
on first use (PEP 562), so that the TensorFlow-free runtime (`kerashg.predict`
with a `.tflite` or `.onnx` file) and every command's `--help` stay light. When
Keras is already imported, the models are imported at once, which registers
kerashg's layers for `keras.saving.load_model`; otherwise use
`kerashg.load_model(path)` (or touch any model name first) to load a `.keras`
file.
"""

import importlib as _importlib
import sys as _sys

__version__ = "0.1.0"

from kerashg import transforms  # noqa: E402  (NumPy only)
from kerashg.cli import lazy_attributes as _lazy_attributes  # noqa: E402  (standard library)
from kerashg.keypoints import COCO, LSP, MPII, KeypointSet, get_keypoint_set  # noqa: E402
from kerashg.person import Person  # noqa: E402  (NumPy only)
from kerashg.pose_estimator import PoseEstimator  # noqa: E402  (NumPy only; TensorFlow on use)
from kerashg.presets import list_presets  # noqa: E402  (data, standard library)

# Names that import Keras / TensorFlow, loaded on first access.
_LAZY = {
    "HeatmapCodec": "kerashg.codec",
    "PCKMetric": "kerashg.metrics",
    "coco_keypoint_ap": "kerashg.metrics",
    "lsp_pck": "kerashg.metrics",
    "mpii_pckh": "kerashg.metrics",
    "mpii_pckh_curve": "kerashg.metrics",
    "pck": "kerashg.metrics",
    "ACNN": "kerashg.models",
    "StackedHourglass": "kerashg.models",
}
_LAZY_MODULES = ("metrics", "codec", "models", "layers")


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, _LAZY_MODULES)


def load_model(path, **kwargs):
    """`keras.saving.load_model(path)` with kerashg's layers registered.

    Args:
        path: a `.keras` file.
        **kwargs: passed to `keras.saving.load_model` (e.g. `compile=False`).
    """
    import keras

    _importlib.import_module("kerashg.models")
    return keras.saving.load_model(path, **kwargs)


if "keras" in _sys.modules:
    _importlib.import_module("kerashg.models")
