"""kerashg: Stacked Hourglass and ACNN heatmap pose estimation for Keras 3.

Public names: the models (`StackedHourglass`, `ACNN`), the `HeatmapCodec`, the
keypoint sets (`MPII`, `COCO`, `LSP`, `KeypointSet`), the crop transform and the
metrics, `load_model`, the named models (`list_presets()`,
`ACNN.from_preset("acnn4_lsp_128")`), and prediction: `PoseEstimator(model)(image)`
returns `Person`s, from a `.keras`, SavedModel, `.tflite` or `.onnx` artifact.

`import kerashg` itself imports no TensorFlow (nor NumPy): its names load on
first use (PEP 562), so that the TensorFlow-free runtime (`kerashg.predict`
with a `.tflite` or `.onnx` file) and every command's `--help` stay light. When
Keras is already imported, the models are imported at once, which registers
kerashg's layers for `keras.saving.load_model`; otherwise use
`kerashg.load_model(path)` (or touch any model name first) to load a `.keras`
file.
"""

import importlib as _importlib
import sys as _sys

__version__ = "0.1.0"

from kerashg.cli import lazy_attributes as _lazy_attributes  # noqa: E402  (standard library)
from kerashg.presets import list_presets  # noqa: E402  (data, standard library)

# Names loaded on first access: NumPy-only ones (so that `kerashg --help` imports
# nothing but the standard library), then those that import Keras / TensorFlow.
_LAZY = {
    "COCO": "kerashg.keypoints",
    "LSP": "kerashg.keypoints",
    "MPII": "kerashg.keypoints",
    "KeypointSet": "kerashg.keypoints",
    "get_keypoint_set": "kerashg.keypoints",
    "Person": "kerashg.person",
    "PoseEstimator": "kerashg.pose_estimator",
    "PoseTracker": "kerashg.pose_tracker",
    "HeatmapCodec": "kerashg.codec",
    "PCKMetric": "kerashg.pck_metric",
    "coco_keypoint_ap": "kerashg.coco_metrics",
    "lsp_pck": "kerashg.metrics",
    "mpii_pckh": "kerashg.metrics",
    "mpii_pckh_curve": "kerashg.metrics",
    "pck": "kerashg.metrics",
    "ACNN": "kerashg.models",
    "StackedHourglass": "kerashg.models",
}
_LAZY_MODULES = ("transforms", "keypoints", "metrics", "codec", "models", "layers")


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
