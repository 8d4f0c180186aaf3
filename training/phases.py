"""Training phases: which variables train, at which learning rate, for how long.

ACNN (Sun, Ye, Wang 2018) trains in three phases:

- A: the pose network (stem, hourglasses, heads, merges) with the attention
  masks forced to ones and the attention layers frozen;
- B: the attention layers, with the pose network frozen;
- C: everything jointly.

A plain stacked hourglass has one phase, "H" (`training.config.HOURGLASS_PHASE`),
that trains everything like C but from scratch like A: it takes a recipe's first
per-phase values (phase A's rate and milestones) and the sum of its epochs, and
is named apart from A, B and C so that its name claims no other phase's rate
(runs before it was named called it "C"). The training
loop receives a list of `Phase` and knows nothing else of the model: it asks
`apply_phase` to set the layers' `trainable` flags and the masks switch.

Freezing sets `layer.trainable = False` on the top-level layers of the frozen
group, so their BatchNormalization layers run in inference mode (Keras 3) and
their moving statistics do not move either: a frozen layer's weights stay
bit-identical.
"""

from __future__ import annotations

import dataclasses

import keras

from training.config import HOURGLASS_PHASE, PHASE_NAMES

GROUPS = ("all", "pose", "attention")


@dataclasses.dataclass(frozen=True)
class Phase:
    """One training phase.

    Args:
        name: str, e.g. "A".
        train: which layers train: "all", "pose" (every layer but the attention
            layers) or "attention" (the `stack{i}_attention` layers).
        learning_rate: float, the phase's base learning rate.
        epochs: int >= 0.
        force_masks: True/False to call `model.set_force_masks` at the start of
            the phase; None for models without attention masks.
        milestones: epochs (from the phase's start) after which the
            "milestones" schedule multiplies the rate by 0.1. Default none.
    """

    name: str
    train: str
    learning_rate: float
    epochs: int
    force_masks: bool | None = None
    milestones: tuple[int, ...] = ()

    def __post_init__(self):
        if self.train not in GROUPS:
            raise ValueError(f"Phase.train must be one of {GROUPS}. Received: train={self.train!r}")
        if self.epochs < 0:
            raise ValueError(f"Phase.epochs must be >= 0. Received: epochs={self.epochs}")
        if not self.learning_rate > 0:
            raise ValueError(f"Phase.learning_rate must be > 0. Received: {self.learning_rate}")


# The ACNN phases, in `PHASE_NAMES` order: (which layers train, masks forced to ones).
ACNN_PHASES = dict(
    zip(PHASE_NAMES, (("pose", True), ("attention", False), ("all", False)), strict=True)
)


def acnn_phases(
    names: tuple[str, ...],
    learning_rates: tuple[float, ...],
    epochs: tuple[int, ...],
    milestones: tuple[tuple[int, ...], ...] | None = None,
) -> list[Phase]:
    """ACNN's phases `names` (a subset of "A", "B", "C") with their rates, epochs
    and (optionally) milestone epochs."""
    milestones = tuple(() for _ in names) if milestones is None else milestones
    if not len(names) == len(learning_rates) == len(epochs) == len(milestones):
        raise ValueError(
            "acnn_phases needs one learning rate and one epoch count per phase. Received: "
            f"names={names}, learning_rates={learning_rates}, epochs={epochs}"
        )
    phases = []
    for name, lr, count, drops in zip(names, learning_rates, epochs, milestones, strict=True):
        if name not in ACNN_PHASES:
            raise ValueError(f"ACNN phases are {tuple(ACNN_PHASES)}. Received: {name!r}")
        train, force = ACNN_PHASES[name]
        phases.append(Phase(name, train, float(lr), int(count), force, tuple(drops)))
    return phases


def joint_phase(
    learning_rate: float,
    epochs: int,
    milestones: tuple[int, ...] = (),
    name: str = HOURGLASS_PHASE,
) -> list[Phase]:
    """The single phase of a model without attention: everything trains.

    Named `HOURGLASS_PHASE` ("H") by default; a recipe gives it its first
    per-phase rate and milestones (see `training.config.resolve_config`).
    """
    return [Phase(name, "all", float(learning_rate), int(epochs), None, tuple(milestones))]


def layer_groups(model: keras.Model) -> dict[str, list[keras.layers.Layer]]:
    """The model's top-level layers that own weights, split into "pose" and "attention".

    The attention layers are the model's own `attention_layers` (ACNN's
    `stack{i}_attention`); a model without that attribute has none.
    """
    attention = {id(layer) for layer in getattr(model, "attention_layers", ())}
    layers = [layer for layer in model.layers if layer.weights]
    return {
        "pose": [layer for layer in layers if id(layer) not in attention],
        "attention": [layer for layer in layers if id(layer) in attention],
    }


def record_trainable(model: keras.Model) -> dict[int, tuple[keras.layers.Layer, bool]]:
    """Every (nested) layer's `trainable` flag, parents before children.

    `apply_phase` restores these flags before freezing a group, so layers a
    user froze on purpose (e.g. BatchNormalization) stay frozen in every phase.
    """
    return {id(layer): (layer, layer.trainable) for layer in model._flatten_layers()}


def apply_phase(
    model: keras.Model, phase: Phase, initial: dict[int, tuple[keras.layers.Layer, bool]]
) -> list:
    """Sets the layers' `trainable` flags and the masks switch for `phase`.

    Args:
        model: the model being trained.
        phase: the phase to enter.
        initial: `record_trainable(model)` taken before any phase.

    Returns:
        The variables that train in this phase (`model.trainable_variables`).

    Raises:
        ValueError: the phase would train nothing (e.g. "attention" on a model
            without attention layers), or forces masks on a model without them.
    """
    # Setting a parent's flag resets its children, so restore parents first.
    for layer, flag in initial.values():
        layer.trainable = flag
    groups = layer_groups(model)
    frozen = {"all": [], "pose": groups["attention"], "attention": groups["pose"]}[phase.train]
    for layer in frozen:
        layer.trainable = False
    if phase.force_masks is not None:
        if not hasattr(model, "set_force_masks"):
            raise ValueError(
                f"Phase {phase.name} sets force_masks={phase.force_masks} but model "
                f"{model.name!r} has no attention masks (no set_force_masks method)"
            )
        model.set_force_masks(phase.force_masks)
    variables = list(model.trainable_variables)
    if not variables:
        raise ValueError(
            f"Phase {phase.name} (train={phase.train!r}) leaves no trainable variable in "
            f"model {model.name!r}"
        )
    return variables
