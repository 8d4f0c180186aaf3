"""Named architectures of StackedHourglass and ACNN, and the one shipped model.

A preset builds a randomly initialised model, except that a preset listed in
`SHIPPED_WEIGHTS` also has trained weights inside the package
(`kerashg/weights/`), loaded with `from_preset(name, weights=True)`. Nothing
is ever downloaded. `acnn4_lsp_128` is the real-photo model: a 4-stack ACNN
trained on LSP-extended (14 LSP joints, 128×128 crops of the person box × 1.25);
the README gives its training command, its PCK@0.2 and its files' sha256.
"""

import pathlib

_MPII_256 = dict(num_keypoints=16, filters=256, depth=4, input_shape=(256, 256, 3))
_MOBILE_128 = dict(num_keypoints=16, filters=128, depth=4, input_shape=(128, 128, 3))

STACKED_HOURGLASS_PRESETS = {
    "hg1_mpii_256": dict(num_stacks=1, **_MPII_256),
    "hg2_mpii_256": dict(num_stacks=2, **_MPII_256),
    "hg4_mpii_256": dict(num_stacks=4, **_MPII_256),
    "hg8_mpii_256": dict(num_stacks=8, **_MPII_256),
    "hg2_mobile_128": dict(num_stacks=2, **_MOBILE_128),
}

ACNN_PRESETS = {
    "acnn4_mpii_256": dict(num_stacks=4, mask="soft", **_MPII_256),
    "acnn2_mobile_128": dict(num_stacks=2, mask="soft", **_MOBILE_128),
    # The CPU real-photo recipe's network (`python -m training.train --data lsp`).
    "acnn4_lsp_128": dict(
        num_stacks=4,
        mask="soft",
        num_keypoints=14,
        filters=64,
        depth=3,
        input_shape=(128, 128, 3),
        stem_filters=(16, 32),
    ),
}

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parents[1] / "weights"
# Presets with trained weights in the package: preset → file in WEIGHTS_DIR.
SHIPPED_WEIGHTS = {"acnn4_lsp_128": "acnn4_lsp_128.keras"}


def weights_path(preset) -> pathlib.Path:
    """The shipped `.keras` file of `preset`.

    Raises:
        ValueError: `preset` has no shipped weights (the message lists those that do).
        FileNotFoundError: the file is missing from this installation.
    """
    if preset not in SHIPPED_WEIGHTS:
        raise ValueError(
            f"No trained weights are shipped for preset {preset!r} (architectures only). "
            f"Presets with weights: {', '.join(sorted(SHIPPED_WEIGHTS))}"
        )
    path = WEIGHTS_DIR / SHIPPED_WEIGHTS[preset]
    if not path.is_file():
        raise FileNotFoundError(f"The shipped weights of {preset!r} are missing: {path}")
    return path


def build_from_preset(cls, preset, weights=False, **kwargs):
    """`cls.from_preset`: a named architecture, with its shipped weights if asked.

    Args:
        cls: `StackedHourglass` or `ACNN`.
        preset: a key of `cls.presets`.
        weights: load the trained model shipped for `preset` (see `SHIPPED_WEIGHTS`).
        **kwargs: constructor arguments overriding the preset's (not with weights).
    """
    config = preset_config(cls.presets, preset, cls.__name__)
    if not weights:
        return cls(**{**config, **kwargs})
    if kwargs:
        raise ValueError(
            f"from_preset({preset!r}, weights=True) loads the trained model as it is; "
            f"it takes no constructor arguments. Received: {sorted(kwargs)}"
        )
    import keras

    model = keras.saving.load_model(weights_path(preset), compile=False)
    if not isinstance(model, cls):
        raise ValueError(
            f"The shipped weights of {preset!r} hold a {type(model).__name__}, not a {cls.__name__}"
        )
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
