"""Training configuration: one dataclass and the defaults that depend on the device.

`TrainConfig` holds every setting of `python -m training.train`. Fields left as
`None` are filled by `resolve_config` from a named recipe (`RECIPES`, `--recipe`):
"acnn-paper" and "hourglass-paper" (the papers' recipes as the original Torch
code runs them: Torch's RMSprop and initialisation, the papers' batch, epochs
and ×0.1 drops at given epochs), or, by default, the device's:

- CPU only (synthetic data): a configuration sized so that the whole default run
  finishes in 15–20 minutes on 2 cores (small input, few filters, a fixed
  number of steps) with a recipe that leaves the all-zero plateau quickly
  (foreground-weighted MSE, Adam, warm-up + cosine decay). See `CPU_DEFAULTS`.
- GPU ("gpu"): close to the papers (256×256 input, 256 filters, plain MSE, Keras'
  RMSprop, learning rates 5e-4 / 2.5e-4 / 2.5e-4 for ACNN phases A, B, C, each
  dropped ×0.1 late in the phase). See `GPU_DEFAULTS`.

The precision rule (`resolve_precision`): `auto` is `mixed_float16` on a GPU,
`mixed_bfloat16` on a CPU with native bfloat16 instructions (AVX512_BF16 or AMX),
`float32` on any other CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from typing import Any

from kerashg.decoding import REFINEMENTS  # NumPy only
from kerashg.errors import InputError

MODELS = ("acnn", "hourglass")
DATA_SETS = ("synthetic", "mpii", "coco", "lsp")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
LOSSES = ("mse", "fg_mse")
OPTIMIZERS = ("rmsprop", "rmsprop_torch", "adam")
SCHEDULES = ("step", "warmup_step", "cosine", "milestones")
# Convolution initialisations (`--init`): Keras' Glorot-uniform, or Torch7's U(±1/√fan_in).
INITS = ("glorot", "torch")
PHASE_NAMES = ("A", "B", "C")
# The keys of `training.augment.AUGMENT_PRESETS`, written out so that
# `python -m training.train --help` imports no TensorFlow (tests/test_cli.py
# checks that they agree).
AUGMENT_LEVELS = ("full", "light", "none")

# The papers' learning rates of ACNN phases A, B, C (pose, attention, joint).
PAPER_PHASE_LRS = (5e-4, 2.5e-4, 2.5e-4)

# Device-dependent defaults, keyed by TrainConfig field. Per-phase values are
# tuples in phase order A, B, C; a plain stacked hourglass uses the first.
GPU_DEFAULTS: dict[str, Any] = dict(
    input_size=256,
    filters=256,
    depth=4,
    stem_filters=(64, 128),
    batch_size=16,
    loss="mse",
    optimizer="rmsprop",
    schedule="step",
    lr=PAPER_PHASE_LRS,
    phase_epochs=(100, 25, 25),
    steps_per_epoch=1000,
    sigma=1.0,
    augment="full",
)
# Sized for a 2-core CPU: 4 stacks of 64 filters at 128×128 (32×32 heatmaps),
# 17 min 22 s measured when the cores are free (91.2% PCK@0.5). Input 128 is
# the smallest that keeps PCK@0.5 meaningful on the synthetic figures (half a
# head is ~1.75 heatmap pixels there). What the recipe rests on, measured on this machine:
# - Plain MSE against sigma-1 Gaussians sits on the all-zero plateau for such a
#   short budget with Glorot + Keras' RMSprop (not with Torch's: README, issue 13); weighting the target's foreground pixels leaves it in ~100 steps.
# - Adam at a high constant rate, ×0.1 only for the last 20% of each phase after
#   a linear warm-up: cosine decay to 0 over phase A measured 41% PCK after A
#   against 58% with the rate still high.
# - Batch 8, not 16: at equal images (600-step hourglass proxies) batch 8 reached
#   68.8% PCK@0.5 against 59.6% for 16 and 50.0% for 32, while a batch-8 step
#   costs ~1.3–1.4× more per image.
# - Light augmentation: without rotation the held-out figures are learnt faster
#   (no augmentation measured 61.9% against 59.6% at 600 steps).
# - The 16/32 stem: the paper's 64/128 stem at H/2 dominated a 64-filter
#   network's step (0.89 → 0.46 s at batch 16).
# - mixed_bfloat16 cost no accuracy: 57.1% against float32's 55.9% after the
#   same 600 steps.
# Phase A (pose) gets most of the budget, B (attention only) is short, and C
# restarts the rate for joint training. See the README for the measured runs.
CPU_DEFAULTS: dict[str, Any] = dict(
    input_size=128,
    filters=64,
    depth=3,
    stem_filters=(16, 32),
    batch_size=8,
    loss="fg_mse",
    optimizer="adam",
    schedule="warmup_step",
    lr=(2e-3, 1e-3, 1e-3),
    phase_epochs=(16, 1, 6),
    steps_per_epoch=200,
    sigma=1.0,
    augment="light",
)


# Real photos on a CPU (`--data lsp|mpii|coco`): the CPU network and optimiser,
# with wider targets and a longer budget, sized for ≤ 60 minutes on 2 cores with
# margin (see the README for the measured run on LSP-extended). Measured on
# 600-step LSP-extended proxies (phase A, batch 8, same seed; PCK@0.2 of the torso
# on images 8,101–9,000): sigma 1 / light 8.8 %, sigma 2 / light 12.6 %,
# sigma 2 / full augmentation (rotation ±30° for 40 % of crops, scale ±25 %) 9.6 %.
# - sigma 2 heatmap pixels: the wider targets are found sooner, and PCK@0.2 of
#   the torso (about 2 heatmap pixels on a 128-pixel crop) does not need the
#   narrow peak of sigma 1.
# - 400 steps per epoch: the whole held-out split (900 images) is validated after
#   every epoch, so fewer, longer epochs keep validation near 3 % of the run.
CPU_REAL_DEFAULTS: dict[str, Any] = dict(
    sigma=2.0,
    augment="light",
    phase_epochs=(8, 1, 3),
    steps_per_epoch=400,
)


# Settings every recipe has and the device defaults above leave to these values.
COMMON_DEFAULTS: dict[str, Any] = dict(model="acnn", stacks=4, init="glorot", milestones=None)
# The ACNN paper's recipe (Sun, Ye, Wang 2018): the paper's 4-stack ACNN at
# 256×256 with 256 filters, batch 12, RMSprop as Torch's optim.rmsprop, Torch7's
# initialisation, plain MSE; phase A 200 epochs at 5e-4, B 200 at 2.5e-4, C 100
# at 2.5e-4, each rate ×0.1 at the epochs listed in `milestones`; an epoch is one
# pass over the training split (`steps_per_epoch=0`). Targets: the Torch
# hourglass code's Gaussian, 1.75 heatmap pixels wide (`kerashg.codec`'s `sigma`);
# augmentation: the hourglass recipe.
ACNN_PAPER: dict[str, Any] = dict(
    GPU_DEFAULTS,
    model="acnn",
    stacks=4,
    batch_size=12,
    optimizer="rmsprop_torch",
    init="torch",
    schedule="milestones",
    lr=PAPER_PHASE_LRS,
    phase_epochs=(200, 200, 100),
    milestones=((120, 170), (120, 170), (50, 70)),
    steps_per_epoch=0,
    sigma=1.75,
    augment="full",
)
# The Stacked Hourglass paper's recipe as princeton-vl/pose-hg-train runs it
# (src/opts.lua): 8 stacks of 256 filters at 256×256, batch 6 (-trainBatch),
# rmsprop at 2.5e-4 (-LR, alpha 0.99, epsilon 1e-8), Torch7's initialisation,
# MSE, 1.75-pixel Gaussians; 100 epochs (-nEpochs) of 8000 iterations
# (-trainIters: a Torch "epoch" is a fixed number of steps, 48,000 crops, about
# two passes over MPII's training people). The code never drops the rate
# (-LRdecay 0); the paper drops it ×0.1 once "after validation accuracy
# plateaus", by hand, at no stated epoch, so the recipe keeps it constant.
HOURGLASS_PAPER: dict[str, Any] = dict(
    GPU_DEFAULTS,
    model="hourglass",
    stacks=8,
    batch_size=6,
    optimizer="rmsprop_torch",
    init="torch",
    schedule="milestones",
    lr=(2.5e-4,),
    phase_epochs=(100,),
    milestones=((),),
    steps_per_epoch=8000,
    sigma=1.75,
    augment="full",
)
# Named recipes (`--recipe`), each a complete set of defaults; options given
# explicitly win over them. Without `--recipe` a run takes "gpu" on a GPU,
# otherwise "cpu" (synthetic data) or "cpu-real" (a real data set).
RECIPES: dict[str, dict[str, Any]] = {
    "cpu": {**COMMON_DEFAULTS, **CPU_DEFAULTS},
    "cpu-real": {**COMMON_DEFAULTS, **CPU_DEFAULTS, **CPU_REAL_DEFAULTS},
    "gpu": {**COMMON_DEFAULTS, **GPU_DEFAULTS},
    "acnn-paper": {**COMMON_DEFAULTS, **ACNN_PAPER},
    "hourglass-paper": {**COMMON_DEFAULTS, **HOURGLASS_PAPER},
}


def recipe_name(data: str, gpu: bool) -> str:
    """The recipe a run on `data` takes without `--recipe`."""
    if gpu:
        return "gpu"
    return "cpu" if data == "synthetic" else "cpu-real"


def describe_recipe(name: str) -> str:
    """One line of what recipe `name` sets (for `--help` and the start of a run)."""
    r = RECIPES[name]
    epochs = ",".join(map(str, r["phase_epochs"]))
    epoch = (
        "one pass over the training split"
        if r["steps_per_epoch"] == 0
        else f"{r['steps_per_epoch']} steps"
    )
    if r["schedule"] == "milestones":
        drops = "; ".join(",".join(map(str, m)) or "none" for m in r["milestones"])
        drops = f"×0.1 at epochs {drops}"
    else:
        drops = f"schedule {r['schedule']}"
    return (
        f"{name}: {r['model']} {r['stacks']} stacks, {r['filters']} filters, depth "
        f"{r['depth']}, input {r['input_size']}, batch {r['batch_size']}, loss {r['loss']}, "
        f"optimizer {r['optimizer']}, init {r['init']}, lr {','.join(map(str, r['lr']))}, "
        f"epochs {epochs} (epoch = {epoch}), {drops}, sigma {r['sigma']}, "
        f"augment {r['augment']}"
    )


def device_defaults(data: str, gpu: bool) -> dict[str, Any]:
    """The defaults of a run on `data` ("synthetic" or a real data set)."""
    return RECIPES[recipe_name(data, gpu)]


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. `None` means "the device's default".

    Args:
        model: "acnn" or "hourglass". Default: the recipe's ("acnn" but for
            "hourglass-paper").
        stacks: number of stacks S. Default: the recipe's (4; 8 for
            "hourglass-paper").
        filters: hourglass channels. Default: device-dependent.
        depth: halvings in each hourglass. Default: device-dependent.
        stem_filters: (conv, residual) channels of the stem. Default:
            device-dependent (the paper's (64, 128) on a GPU).
        input_size: square model-input side in pixels. Default: device-dependent.
        mask: ACNN mask mode, "soft" or "hard". Default "soft".
        data: "synthetic", "mpii", "coco" or "lsp". Default "synthetic".
        data_dir: root of a real data set (required unless synthetic).
        phases: ACNN phases to run, a subset of "A", "B", "C" in order.
            Default all three (a stacked hourglass has one joint phase).
        epochs: total epochs, split over the phases in the default proportions;
            `phase_epochs` wins when both are given.
        phase_epochs: epochs per selected phase.
        batch_size: global batch size (summed over replicas).
        lr: learning rate; one value for every phase or one per selected phase.
        precision: "auto", "float32", "mixed_float16" or "mixed_bfloat16".
        strategy: "auto", "one_device", "mirrored" or "multi_worker".
        steps_per_epoch: optimizer steps per epoch; 0 = one pass over the
            training split (ceil(training records / batch size), set when the
            data is read).
        val_images: held-out images for validation each epoch. Default: 256
            synthetic figures, or a real data set's whole held-out split.
        synthetic_pool: synthetic training images rendered once, then cropped
            and augmented afresh every epoch. Default 4096.
        difficulty: synthetic data difficulty, "easy", "moderate", "hard" or a
            level in [0, 1] (0 easy, 0.5 moderate, 1 hard). Default "moderate".
        loss: "mse" (the papers') or "fg_mse" (foreground-weighted MSE).
        foreground_weight: w in `(1 + w * target)` for "fg_mse". Default 20.
        optimizer: "rmsprop" (the papers') or "adam".
        schedule: "step" (×0.1 at `drop_at` of each phase), "warmup_step"
            (the same after a linear warm-up), "cosine" (linear warm-up, then
            cosine decay to 0 in each phase) or "milestones" (×0.1 at each of
            the phase's `milestones` epochs, the papers').
        drop_at: fraction of a phase after which the "step" schedule drops
            the rate ×0.1. Default 0.8.
        warmup_steps: linear warm-up steps of the "cosine" schedule in each phase.
        sigma: Gaussian width of the targets in heatmap pixels.
        refine: sub-pixel refinement of the decoded argmax in validation,
            "dark" (default) or "quarter" (`kerashg.HeatmapCodec`'s `refine`).
        augment: random augmentation of the training crops, "full" (the
            hourglass recipe: scale ±25%, rotation ±30° for 40% of crops, flip,
            colour), "light" (flip, scale ±10%, colour ±10%, no rotation) or
            "none". Default: device-dependent.
        init_from: optional `.keras` model whose weights start this one (the
            optimizer starts fresh; keypoint channels mapped by joint name,
            see `training.transfer`).
        out: output folder. Default `runs/<model>-<timestamp>`.
        resume: continue the run in `out` from its last checkpoint.
        seed: random seed of weights and data.
        deterministic: enable TensorFlow's op determinism (slower).
        checkpoint_every: steps between checkpoints (also one per epoch).
        tensorboard: write TensorBoard summaries under `<out>/logs`.
        recipe: a key of `RECIPES` ("cpu", "cpu-real", "gpu", "acnn-paper",
            "hourglass-paper") whose values fill the fields left `None`.
            Default: the device's ("gpu", "cpu" or "cpu-real").
        init: convolution initialisation, "glorot" (Keras' default, zero
            biases) or "torch" (Torch7's U(±1/√fan_in) for weights and biases).
            Default: the recipe's.
        milestones: per selected phase, the epochs (counted from the phase's
            start) after which the "milestones" schedule multiplies the rate by
            0.1, e.g. ((120, 170), (120, 170), (50, 70)). Default: the recipe's.
    """

    model: str | None = None
    stacks: int | None = None
    filters: int | None = None
    depth: int | None = None
    stem_filters: tuple[int, int] | None = None
    input_size: int | None = None
    mask: str = "soft"
    data: str = "synthetic"
    data_dir: str | None = None
    phases: tuple[str, ...] | None = None
    epochs: int | None = None
    phase_epochs: tuple[int, ...] | None = None
    batch_size: int | None = None
    lr: tuple[float, ...] | None = None
    precision: str = "auto"
    strategy: str = "auto"
    steps_per_epoch: int | None = None
    val_images: int | None = None
    synthetic_pool: int = 4096
    difficulty: str = "moderate"
    loss: str | None = None
    foreground_weight: float = 20.0
    optimizer: str | None = None
    schedule: str | None = None
    drop_at: float = 0.8
    warmup_steps: int = 100
    sigma: float | None = None
    refine: str = "dark"
    augment: str | None = None
    init_from: str | None = None
    out: str | None = None
    resume: bool = False
    seed: int = 0
    deterministic: bool = False
    checkpoint_every: int = 200
    tensorboard: bool = True
    recipe: str | None = None
    init: str | None = None
    milestones: tuple[tuple[int, ...], ...] | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        values = json.loads(text)
        for key in ("phases", "phase_epochs", "lr", "stem_filters"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        if values.get("milestones") is not None:
            values["milestones"] = tuple(tuple(m) for m in values["milestones"])
        if isinstance(values.get("augment"), bool):  # configurations saved before the levels
            values["augment"] = "full" if values["augment"] else "none"
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"Unknown TrainConfig fields {unknown} in saved configuration")
        return cls(**values)


def has_gpu() -> bool:
    """Whether TensorFlow sees at least one GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (x86 AVX512_BF16 or AMX-BF16)."""
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy name of `precision` on this machine.

    `auto`: `mixed_float16` on a GPU; `mixed_bfloat16` on a CPU with native
    bfloat16 (measured ~1.4× faster than float32 on an AVX512_BF16 EPYC, where
    `mixed_float16` is 5–6× slower); otherwise `float32`.
    """
    if precision not in PRECISIONS:
        raise InputError(
            f"precision must be one of {PRECISIONS}. Received: precision={precision!r}"
        )
    if precision != "auto":
        return precision
    if has_gpu():
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"


def _check_choice(value: Any, choices: tuple, name: str) -> None:
    if value not in choices:
        raise InputError(
            f"--{name.replace('_', '-')} must be one of {choices}. Received: {value!r}"
        )


def _check_difficulty(difficulty: str) -> None:
    """Refuses a `--difficulty` the synthetic renderer would not accept (InputError)."""
    from training.datasets.synthetic import resolve_config as render_config

    try:
        level = float(difficulty)
    except ValueError:  # a preset name
        level = difficulty
    render_config(level)


def resolve_config(config: TrainConfig, gpu: bool | None = None) -> TrainConfig:
    """A copy of `config` with every `None` replaced by its recipe's value.

    Args:
        config: the requested settings.
        gpu: whether to use the GPU defaults when `config.recipe` is None.
            Default: whether a GPU is visible.

    Returns:
        A complete `TrainConfig`: `recipe` names the recipe used; `phases`,
        `phase_epochs`, `lr` and `milestones` have one entry per phase to run;
        `out` is set.

    Raises:
        InputError: a setting is invalid; the message names it and its value.
    """
    _check_choice(config.data, DATA_SETS, "data")
    _check_choice(config.strategy, STRATEGIES, "strategy")
    _check_choice(config.precision, PRECISIONS, "precision")
    _check_choice(config.mask, ("soft", "hard"), "mask")
    _check_choice(config.refine, REFINEMENTS, "refine")
    _check_difficulty(config.difficulty)
    if config.recipe is not None:
        _check_choice(config.recipe, tuple(RECIPES), "recipe")
    recipe = config.recipe or recipe_name(config.data, has_gpu() if gpu is None else gpu)
    defaults = RECIPES[recipe]
    values = dataclasses.asdict(config)
    values["recipe"] = recipe
    for key in (
        "model",
        "stacks",
        "init",
        "filters",
        "depth",
        "stem_filters",
        "input_size",
        "batch_size",
        "loss",
        "optimizer",
    ):
        if values[key] is None:
            values[key] = defaults[key]
    for key in ("schedule", "steps_per_epoch", "sigma", "augment"):
        if values[key] is None:
            values[key] = defaults[key]
    _check_choice(values["augment"], AUGMENT_LEVELS, "augment")
    _check_choice(values["loss"], LOSSES, "loss")
    _check_choice(values["optimizer"], OPTIMIZERS, "optimizer")
    _check_choice(values["schedule"], SCHEDULES, "schedule")
    _check_choice(values["model"], MODELS, "model")
    _check_choice(values["init"], INITS, "init")
    model = values["model"]

    if model == "acnn":
        phases = tuple(config.phases) if config.phases else PHASE_NAMES
        for name in phases:
            _check_choice(name, PHASE_NAMES, "phases")
        if list(phases) != sorted(set(phases)):
            raise InputError(
                f"--phases must list distinct phases in the order A, B, C. Received: {','.join(phases)}"
            )
        index = [PHASE_NAMES.index(name) for name in phases]
    else:
        if config.phases and tuple(config.phases) != ("C",):
            raise InputError(
                "--phases applies to --model acnn only (a stacked hourglass trains in one "
                f"joint phase). Received: --phases {','.join(config.phases)}"
            )
        phases, index = ("C",), [0]
    if max(index) >= len(defaults["phase_epochs"]):
        raise InputError(
            f"--recipe {recipe} has no phase {phases[-1]} ({model} phases {','.join(phases)}); "
            f"use --model {defaults['model']} or another recipe"
        )
    default_epochs = [defaults["phase_epochs"][i] for i in index]
    if model == "hourglass":
        default_epochs = [sum(defaults["phase_epochs"])]
    if config.phase_epochs is not None:
        epochs = tuple(int(e) for e in config.phase_epochs)
        if len(epochs) != len(phases):
            raise InputError(
                f"--phase-epochs needs one value per phase {','.join(phases)}. "
                f"Received: {','.join(map(str, epochs))}"
            )
    elif config.epochs is not None:
        epochs = _split_epochs(int(config.epochs), default_epochs)
    else:
        epochs = tuple(default_epochs)
    if any(e < 0 for e in epochs) or sum(epochs) < 1:
        raise InputError(f"Epochs must be >= 0 with at least one in total. Received: {epochs}")
    if config.lr is None:
        lr = tuple(defaults["lr"][i] for i in index)
    elif len(config.lr) == 1:
        lr = tuple(config.lr) * len(phases)
    elif len(config.lr) == len(phases):
        lr = tuple(config.lr)
    else:
        raise InputError(
            f"--lr needs one value or one per phase {','.join(phases)}. "
            f"Received: {','.join(map(str, config.lr))}"
        )
    if any(not v > 0 for v in lr):
        raise InputError(f"--lr must be > 0. Received: {lr}")
    milestones = _resolve_milestones(config.milestones, defaults["milestones"], phases, index)
    for key in ("stacks", "filters", "depth", "input_size", "batch_size"):
        if not int(values[key]) >= 1:
            raise InputError(f"--{key.replace('_', '-')} must be >= 1. Received: {values[key]}")
    if not int(values["steps_per_epoch"]) >= 0:
        raise InputError(
            "--steps-per-epoch must be >= 1, or 0 for one pass over the training split. "
            f"Received: {values['steps_per_epoch']}"
        )
    if config.data != "synthetic" and not config.data_dir:
        raise InputError(f"--data {config.data} needs --data-dir (the data set's root folder)")
    values.update(phases=tuple(phases), phase_epochs=epochs, lr=lr, milestones=milestones)
    if values["out"] is None:
        values["out"] = str(pathlib.Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}")
    return TrainConfig(**values)


def _resolve_milestones(given, recipe, phases, index) -> tuple[tuple[int, ...], ...]:
    """One tuple of increasing epochs >= 1 per phase: `given`, else the recipe's."""
    if given is not None:
        milestones = tuple(tuple(int(e) for e in m) for m in given)
        if len(milestones) != len(phases):
            raise InputError(
                f"milestones needs one list of epochs per phase {','.join(phases)}. "
                f"Received: {given}"
            )
    elif recipe is None:
        milestones = tuple(() for _ in phases)
    elif len(phases) == 1 and index == [0]:  # a stacked hourglass (or phase A) takes the first
        milestones = (tuple(recipe[0]),)
    else:
        milestones = tuple(tuple(recipe[i]) for i in index)
    for m in milestones:
        if any(e < 1 for e in m) or list(m) != sorted(set(m)):
            raise InputError(f"milestones must be increasing epochs >= 1. Received: {milestones}")
    return milestones


def _split_epochs(total: int, proportions: list[int]) -> tuple[int, ...]:
    """`total` epochs split over phases in proportion to `proportions`; sums to `total`.

    Largest remainders, ties to the later phase; then every phase gets at
    least one epoch while there are enough (taken from the largest share).
    With fewer epochs than phases the phases of the smallest shares get none
    (a phase of 0 epochs is skipped), so `--epochs 2` over A, B, C runs A and
    C once each. (It used to give each phase at least one epoch on top of the
    split: `--epochs 2` ran 3.)
    """
    if len(proportions) == 1:
        return (total,)
    weight = sum(proportions)
    quotas = [total * p / weight for p in proportions]
    split = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(split)), key=lambda i: (split[i] - quotas[i], -i))
    for i in by_remainder[: total - sum(split)]:
        split[i] += 1
    if total >= len(split):
        for i in range(len(split)):
            if split[i] == 0:
                split[max(range(len(split)), key=lambda j: (split[j], -j))] -= 1
                split[i] = 1
    return tuple(split)
