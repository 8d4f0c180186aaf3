"""Named architectures of StackedHourglass and ACNN.

Presets are architectures only: no pretrained weights are shipped or
downloaded; a preset builds a randomly initialised model.
"""

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
}


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
