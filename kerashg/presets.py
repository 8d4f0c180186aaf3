"""Named models of StackedHourglass and ACNN, as data: architectures and the one trained model.

Each `Preset` holds the model's class and constructor arguments with what a
user needs to choose one (description, parameter count, input size, and for a
trained preset the data it learnt from and its measured metric).
`kerashg.list_presets()` lists them; `Model.from_preset(name)` builds one, as
keras-hub's `from_preset(preset, load_weights=True)` does:

- a trained preset (`weights` names a file in `kerashg/weights/`) loads its
  trained model by default; `load_weights=False` builds its architecture with
  random weights;
- an architecture-only preset needs `load_weights=False` (asking for weights
  it does not have is an error that names the trained presets).

Nothing is ever downloaded. `acnn4_lsp_128` is the real-photo model: a 4-stack
ACNN trained on LSP-extended (14 LSP joints, 128×128 crops of the person box ×
1.25); docs and the README give its training command and its files' sha256.
"""

from __future__ import annotations

import dataclasses
import pathlib

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model: its class, constructor arguments and what a user reads to choose it.

    Args:
        name: str, the preset's name (`from_preset(name)`).
        class_name: "StackedHourglass" or "ACNN".
        config: dict, the constructor arguments (`input_shape` (H, W, 3)).
        description: str, one sentence.
        parameters: int, the model's parameter count (pinned by tests/test_models.py).
        data: str or None, what a trained preset learnt from (None: untrained).
        metric: str or None, its measured accuracy, with the metric's name.
        weights: str or None, the trained `.keras` file in `WEIGHTS_DIR`.
    """

    name: str
    class_name: str
    config: dict
    description: str
    parameters: int
    data: str | None = None
    metric: str | None = None
    weights: str | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input."""
        height, width = self.config["input_shape"][:2]
        return int(width), int(height)

    def metadata(self) -> dict:
        """What `kerashg.list_presets()` shows of the preset."""
        return {
            "class": self.class_name,
            "description": self.description,
            "parameters": self.parameters,
            "input_size": self.input_size,
            "num_keypoints": self.config["num_keypoints"],
            "keypoint_set": self.config.get("keypoint_set"),
            "trained": self.weights is not None,
            "data": self.data,
            "metric": self.metric,
        }


_MPII_256 = dict(
    num_keypoints=16, keypoint_set="mpii", filters=256, depth=4, input_shape=(256, 256, 3)
)
_MOBILE_128 = dict(
    num_keypoints=16, keypoint_set="mpii", filters=128, depth=4, input_shape=(128, 128, 3)
)
_HOURGLASS = "Stacked hourglass (Newell et al. 2016) for MPII's 16 joints"
_ACNN = "ACNN, stacked hourglass with attention masks (Sun et al.), for MPII's 16 joints"

# fmt: off
PRESETS = {
    preset.name: preset
    for preset in (
        Preset("hg1_mpii_256", "StackedHourglass", dict(num_stacks=1, **_MPII_256),
               f"{_HOURGLASS}: 1 stack, 256 filters, 256×256 input.", 3_443_088),
        Preset("hg2_mpii_256", "StackedHourglass", dict(num_stacks=2, **_MPII_256),
               f"{_HOURGLASS}: 2 stacks, 256 filters, 256×256 input.", 6_601_888),
        Preset("hg4_mpii_256", "StackedHourglass", dict(num_stacks=4, **_MPII_256),
               f"{_HOURGLASS}: 4 stacks, 256 filters, 256×256 input.", 12_919_488),
        Preset("hg8_mpii_256", "StackedHourglass", dict(num_stacks=8, **_MPII_256),
               f"{_HOURGLASS}: the paper's 8 stacks, 256 filters, 256×256 input.", 25_554_688),
        Preset("hg2_mobile_128", "StackedHourglass", dict(num_stacks=2, **_MOBILE_128),
               f"{_HOURGLASS}: 2 stacks, 128 filters, 128×128 input, for phones.", 1_760_928),
        Preset("acnn4_mpii_256", "ACNN", dict(num_stacks=4, mask="soft", **_MPII_256),
               f"{_ACNN}: 4 stacks, 256 filters, 256×256 input.", 13_659_592),
        Preset("acnn2_mobile_128", "ACNN", dict(num_stacks=2, mask="soft", **_MOBILE_128),
               f"{_ACNN}: 2 stacks, 128 filters, 128×128 input, for phones.", 1_853_796),
        # The CPU real-photo recipe's network (`python -m training.train --data lsp`).
        Preset(
            "acnn4_lsp_128",
            "ACNN",
            dict(num_stacks=4, mask="soft", num_keypoints=14, keypoint_set="lsp", filters=64,
                 depth=3, input_shape=(128, 128, 3), stem_filters=(16, 32)),
            "The shipped real-photo model: a 4-stack ACNN, 64 filters, 128×128 crops, LSP's "
            "14 joints; trained on loose and mixed crops, so it also finds a person in a whole photo "
            "(kerashg.cropping.find_person).",
            722_208,
            data="LSP-extended images 1-8,100 (after synthetic pre-training)",
            metric="PCK@0.2 of the torso on LSP-extended images 8,101-9,000: 53.25 % with the "
            "annotated box, 48.24 % on the whole image (2 passes, flip test)",
            weights="acnn4_lsp_128.keras",
        ),
    )
}
# fmt: on


# The model `kerashg.PoseEstimator()` and `python -m kerashg.predict` use when given none.
DEFAULT_PRESET = "acnn4_lsp_128"
DEFAULT_MODEL = WEIGHTS_DIR / PRESETS[DEFAULT_PRESET].weights


def _class_presets(class_name: str) -> dict:
    return {name: p.config for name, p in PRESETS.items() if p.class_name == class_name}


# `StackedHourglass.presets` / `ACNN.presets`: name → constructor arguments.
STACKED_HOURGLASS_PRESETS = _class_presets("StackedHourglass")
ACNN_PRESETS = _class_presets("ACNN")


def list_presets() -> dict[str, dict]:
    """Every preset with its metadata: name → {"class", "description", "parameters",
    "input_size" (W, H), "num_keypoints", "keypoint_set", "trained", "data", "metric"}.

    Example:

    >>> for name, meta in kerashg.list_presets().items():
    ...     print(name, meta["parameters"], meta["metric"] or "untrained")
    """
    return {name: preset.metadata() for name, preset in PRESETS.items()}


def get_preset(name: str) -> Preset:
    """The `Preset` called `name` (ValueError listing them all otherwise)."""
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset. Received: preset={name!r}. Known presets: {', '.join(PRESETS)}"
        )
    return PRESETS[name]


def weights_path(preset) -> pathlib.Path:
    """The trained `.keras` file of `preset`.

    Raises:
        ValueError: `preset` has no trained weights (the message lists those that do).
        FileNotFoundError: the file is missing from this installation.
    """
    found = get_preset(preset)
    if found.weights is None:
        trained = [name for name, p in PRESETS.items() if p.weights is not None]
        raise ValueError(
            f"Preset {preset!r} is an architecture only: it has no trained weights. Build it "
            f"with `from_preset({preset!r}, load_weights=False)` (random weights), or choose "
            f"a trained preset: {', '.join(trained)}"
        )
    path = WEIGHTS_DIR / found.weights
    if not path.is_file():
        raise FileNotFoundError(f"The trained weights of {preset!r} are missing: {path}")
    return path


def build_from_preset(cls, preset, load_weights=True, **kwargs):
    """`cls.from_preset`: a named model, with its trained weights where it has them.

    Args:
        cls: `StackedHourglass` or `ACNN`.
        preset: a key of `cls.presets`.
        load_weights: load the preset's trained model (an error for an
            architecture-only preset); False builds the architecture with random
            weights. Default True.
        **kwargs: constructor arguments overriding the preset's (only with
            `load_weights=False`); a new `num_keypoints` drops the preset's
            keypoint set unless `keypoint_set` is given too.
    """
    config = preset_config(cls.presets, preset, cls.__name__)
    if not load_weights:
        if "num_keypoints" in kwargs and "keypoint_set" not in kwargs:
            config.pop("keypoint_set", None)
        return cls(**{**config, **kwargs})
    if kwargs:
        raise ValueError(
            f"from_preset({preset!r}, load_weights=True) loads the trained model as it is; "
            f"it takes no constructor arguments (use load_weights=False to build the "
            f"architecture with them). Received: {sorted(kwargs)}"
        )
    import keras

    model = keras.saving.load_model(weights_path(preset), compile=False)
    if not isinstance(model, cls):
        raise ValueError(
            f"The trained weights of {preset!r} hold a {type(model).__name__}, not a {cls.__name__}"
        )
    if model.keypoint_set is None:  # a file saved before models recorded their set
        model.keypoint_set = config.get("keypoint_set")
    return model


def preset_config(presets, preset, class_name):
    """Constructor arguments of `preset`, a key of `presets`.

    Raises:
        ValueError: `preset` is not a key of `presets`; the message lists them.
    """
    if preset not in presets:
        raise ValueError(
            f"Unknown {class_name} preset. Received: preset={preset!r}. "
            f"Known presets: {', '.join(sorted(presets))}"
        )
    return dict(presets[preset])
