"""Training configuration: one dataclass, the command line built from it, the resolution.

`TrainConfig` holds every setting of `python -m training.train`. Each field is
written once here: its type, its default and, in its `metadata`, the command-line
option's group, help text and choices; `add_options` builds the parser's options
from the fields and `config_from_args` reads them back, so a default or a choice
list is never restated. Fields left `None` are filled by `resolve_config` from a
named recipe (`training.recipes.RECIPES`, `--recipe`; the device's by default).

The precision rule (`resolve_precision`): `auto` is `mixed_float16` on a GPU,
`mixed_bfloat16` on a CPU with native bfloat16 instructions (AVX512_BF16 or AMX),
`float32` on any other CPU.

This module imports no TensorFlow (`--help` answers at once).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import time
import typing
from typing import Any

from kerashg.data import DATASETS  # NumPy only
from kerashg.decoding import REFINEMENTS  # NumPy only
from kerashg.errors import InputError
from training.recipes import RECIPES, recipe_name
from training.schedule import SCHEDULES, Schedule

MODELS = ("acnn", "hourglass")
DATA_SETS = ("synthetic", *DATASETS)
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
LOSSES = ("mse", "fg_mse")
OPTIMIZERS = ("rmsprop", "rmsprop_torch", "adam")
# Convolution initialisations (`--init`): Keras' Glorot-uniform, or Torch7's U(±1/√fan_in).
INITS = ("glorot", "torch")
# ACNN's training phases, in order (`training.phases.ACNN_PHASES` says what each trains).
PHASE_NAMES = ("A", "B", "C")
# The one phase of a plain stacked hourglass: every layer trains, as in ACNN's
# phase C, but from scratch as in phase A, so it takes the recipe's first
# per-phase values (phase A's rate and milestones) and the sum of the phases'
# epochs. Named apart from A, B, C so that no name claims another phase's rate;
# runs saved before it was named (config.json `"phases": ["C"]`) still resume.
HOURGLASS_PHASE = "H"
# Written out so that `--help` imports no TensorFlow; tests/test_cli.py checks
# that they agree with their sources: `kerashg.layers.attention_mask.MASK_MODES`
# and the keys of `training.augment.AUGMENT_PRESETS`.
MASK_MODES = ("soft", "hard")
AUGMENT_LEVELS = ("full", "light", "loose", "mixed", "none")
# The option groups of `python -m training.train --help`, in order.
OPTION_GROUPS = ("model", "data", "schedule", "run")


def _numbers(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{flag} must be comma-separated numbers. Received: {text!r}") from None


def _ints(text: str, flag: str) -> tuple[int, ...]:
    return tuple(int(v) for v in _numbers(text, flag))


def _name_pairs(text: str, flag: str) -> tuple[tuple[str, str], ...]:
    """`a:b,c:d` as `(("a", "b"), ("c", "d"))`; `none` (or nothing) as `()`."""
    if text.strip().lower() in ("", "none"):
        return ()
    pairs = [p.split(":") for p in text.split(",")]
    if any(len(p) != 2 or not all(n.strip() for n in p) for p in pairs):
        raise InputError(
            f"{flag} must be joint-name pairs A:B separated by commas (or none). Received: {text!r}"
        )
    return tuple((a.strip(), b.strip()) for a, b in pairs)


def _phase_names(text: str, flag: str) -> tuple[str, ...] | None:
    del flag
    return tuple(p.strip().upper() for p in text.split(",")) if text else None


def _option(
    group: str | None,
    help: str,
    default: Any = None,
    *,
    choices: tuple | None = None,
    parse: typing.Callable[[str, str], Any] | None = None,
    metavar: str | None = None,
    alias: tuple[str, Any, str] | None = None,
) -> Any:
    """A `TrainConfig` field and its command-line option.

    Args:
        group: the option's group in `--help` (one of `OPTION_GROUPS`), or None
            for a field with no option (set in Python or by a recipe).
        help: what the setting does (the option's help text).
        default: the field's default; None: the recipe's (see `resolve_config`).
        choices: the accepted values (checked by the parser and `resolve_config`).
        parse: `fn(text, "--option")` → the field's value, for a list given as
            comma-separated text (the option then takes a string).
        metavar: the option's value name in `--help`.
        alias: `(flag, value, help)` of a second flag that sets this value.
    """
    metadata = dict(group=group, help=help, choices=choices, parse=parse)
    metadata.update(metavar=metavar, alias=alias)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run; `None` means "the recipe's".

    Each field's `metadata["help"]` says what it does (it is also the help text
    of the option `--<field-name>` of `python -m training.train`). After
    `resolve_config`, every field is set: `phases`, `phase_epochs`, `lr` and
    `milestones` have one entry per phase to run.
    """

    # ----------------------------------------------------------------- model
    recipe: str | None = _option(
        "model",
        "named recipe that fills every option not given (see the list below; default: "
        "gpu on a GPU, else cpu, or cpu-real for a real data set)",
        choices=tuple(RECIPES),
    )
    model: str | None = _option(
        "model",
        "architecture (default: the recipe's, acnn but for hourglass-paper)",
        choices=MODELS,
    )
    stacks: int | None = _option(
        "model", "number of stacks S (default: the recipe's, 4; 8 for hourglass-paper)"
    )
    init: str | None = _option(
        "model",
        "convolution initialisation: glorot (Keras', zero biases) or torch (Torch7's "
        "U(±1/√fan_in) for weights and biases; the paper recipes') (default: the recipe's)",
        choices=INITS,
    )
    filters: int | None = _option("model", "hourglass channels (default: per device)")
    depth: int | None = _option("model", "halvings in each hourglass (default: per device)")
    stem_filters: tuple[int, int] | None = _option(
        "model",
        "stem widths: 7×7 conv, half-resolution residuals, e.g. 64,128 (the paper's; "
        "default: per device)",
        parse=_ints,
    )
    input_size: int | None = _option(
        "model", "square model-input side in pixels (default: per device)"
    )
    mask: str = _option(
        "model",
        "ACNN attention mask: soft (the sigmoid) or hard (binarised at 0.5, straight-through gradient)",
        "soft",
        choices=MASK_MODES,
    )

    # ------------------------------------------------------------------ data
    data: str = _option("data", "data set", "synthetic", choices=DATA_SETS)
    data_dir: str | None = _option(
        "data", "root folder of a real data set, in its usual layout (required unless synthetic)"
    )
    category: str | None = _option(
        "data",
        "COCO-format data: the category whose keypoints to train, by name (default: the "
        "annotation file's one category with keypoints; several need one chosen)",
        metavar="NAME",
    )
    flip_pairs: tuple[tuple[str, str], ...] | None = _option(
        "data",
        "COCO-format data: the joints that swap under a horizontal flip, as name pairs, "
        "e.g. left_paw:right_paw,left_foot:right_foot; none: no pairs (default: read from "
        "left/right, l/r words in the joint names: left_paw pairs with right_paw)",
        parse=_name_pairs,
        metavar="A:B,C:D",
    )
    val_images: int | None = _option(
        "data",
        "held-out images validated each epoch (default: 256 synthetic figures, or the "
        "real data set's whole held-out split)",
    )
    synthetic_pool: int = _option(
        "data",
        "synthetic training images rendered once, cropped and augmented every epoch",
        4096,
    )
    difficulty: str = _option(
        "data",
        "synthetic data difficulty: easy, moderate, hard or a level in [0, 1] (0 easy, "
        "0.5 moderate, 1 hard)",
        "moderate",
    )
    sigma: float | None = _option(
        "data", "target Gaussian std in heatmap pixels (default: per device and data set)"
    )
    refine: str = _option(
        "data",
        "sub-pixel refinement of decoded joints in validation: dark (DARK, Zhang et al. "
        "2020) or quarter (the original hourglass code's quarter pixel)",
        "dark",
        choices=REFINEMENTS,
    )
    augment: str | None = _option(
        "data",
        "training-crop augmentation: full (scale ±25%, rotation ±30° for 40% of crops, "
        "flip, colour: the hourglass recipe; GPU default), light (flip, scale ±10%, "
        "colour ±10%, no rotation; CPU default), loose (full, and the crop widened up to 3× "
        "and shifted: the person fills a third of it to all of it, as in a whole frame), "
        "mixed (loose for half the crops, the box crop for the others; real photos' "
        "default) or none",
        choices=AUGMENT_LEVELS,
        alias=("--no-augment", "none", "the same as --augment none"),
    )

    # -------------------------------------------------------------- schedule
    phases: tuple[str, ...] | None = _option(
        "schedule",
        f"ACNN phases to run, in order, e.g. {','.join(PHASE_NAMES)} (default), A or B,C; "
        f"a stacked hourglass has one phase, {HOURGLASS_PHASE}",
        parse=_phase_names,
    )
    epochs: int | None = _option(
        "schedule", "total epochs, split over the phases in the default proportions"
    )
    phase_epochs: tuple[int, ...] | None = _option(
        "schedule", "epochs per selected phase, e.g. 10,2,2 (wins over --epochs)", parse=_ints
    )
    steps_per_epoch: int | None = _option(
        "schedule",
        "optimizer steps per epoch; 0: one pass over the training split (default: per device)",
    )
    batch_size: int | None = _option(
        "schedule", "global batch size over all replicas (default: per device)"
    )
    lr: tuple[float, ...] | None = _option(
        "schedule",
        "learning rate: one value, or one per selected phase (e.g. 5e-4,2.5e-4,2.5e-4)",
        parse=_numbers,
    )
    schedule: str | None = _option(
        "schedule",
        "step: ×0.1 after --drop-at of each phase (papers); warmup_step: the same after a "
        "linear warm-up; cosine: warm-up + cosine decay to 0; milestones: ×0.1 at each of "
        "the phase's milestone epochs (the paper recipes)",
        choices=SCHEDULES,
    )
    drop_at: float = _option(
        "schedule", "fraction of a phase before the step drop", Schedule.drop_at
    )
    warmup_steps: int = _option(
        "schedule", "warm-up steps of the cosine schedule", Schedule.warmup_steps
    )
    loss: str | None = _option(
        "schedule", "mse (the papers') or fg_mse (foreground-weighted)", choices=LOSSES
    )
    foreground_weight: float = _option("schedule", "w in (1 + w·target) of fg_mse", 20.0)
    optimizer: str | None = _option(
        "schedule",
        "rmsprop (Keras', Torch's constants), rmsprop_torch (Torch's optim.rmsprop "
        "update, the papers') or adam",
        choices=OPTIMIZERS,
    )
    milestones: tuple[tuple[int, ...], ...] | None = _option(
        None,
        "per selected phase, the epochs (from the phase's start) after which the "
        "milestones schedule multiplies the rate by 0.1, e.g. ((120, 170), (120, 170), "
        "(50, 70)) (default: the recipe's)",
    )

    # ------------------------------------------------------------------- run
    precision: str = _option("run", "dtype policy (auto: see below)", "auto", choices=PRECISIONS)
    strategy: str = _option("run", "tf.distribute strategy (see below)", "auto", choices=STRATEGIES)
    init_from: str | None = _option(
        "run",
        "start from this model's weights (same size of network; the optimizer starts "
        "fresh; heatmap channels mapped by joint name across keypoint sets, e.g. a "
        "synthetic MPII-16 model to LSP-14; see training.transfer)",
        metavar="MODEL.keras",
    )
    out: str | None = _option("run", "output folder (default runs/<model>-<timestamp>)")
    resume: bool = _option(
        "run",
        "continue the run in --out from its last checkpoint, with its saved config.json",
        False,
    )
    seed: int = _option("run", "seed of weights and data", 0)
    deterministic: bool = _option("run", "TensorFlow op determinism (reproducible, slower)", False)
    checkpoint_every: int = _option("run", "steps between checkpoints (also one each epoch)", 200)
    time_budget: float | None = _option(
        "run",
        "minutes from the command's start (over all its --resume commands) to the end of "
        "training; the final evaluation and save come after. The second epoch measures this "
        "machine's speed (steps, validation, saves; the first traces), then every later epoch "
        "takes the same smaller number of steps if the recipe's would not fit (never more; "
        "each phase keeps its epochs); decided once, kept by --resume, in metrics.json's "
        "plan; 0: no budget (default: the recipe's: "
        + ", ".join(f"{r['time_budget']:g} on {n}" for n, r in RECIPES.items() if r["time_budget"])
        + ", none on the others)",
        metavar="MINUTES",
    )
    tensorboard: bool = _option("run", "TensorBoard summaries under <out>/logs", True)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        values = json.loads(text)
        for key in ("phases", "phase_epochs", "lr", "stem_filters"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        for key in ("milestones", "flip_pairs"):
            if values.get(key) is not None:
                values[key] = tuple(tuple(m) for m in values[key])
        values.setdefault("time_budget", 0.0)  # saved before the budget: run without one
        if isinstance(values.get("augment"), bool):  # configurations saved before the levels
            values["augment"] = "full" if values["augment"] else "none"
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"Unknown TrainConfig fields {unknown} in saved configuration")
        return cls(**values)


def _value_type(hint: Any) -> Any:
    """`int` of `int | None`; the hint itself otherwise."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if isinstance(hint, type(int | None)) and len(args) == 1 else hint


def add_options(parser: argparse.ArgumentParser) -> None:
    """Adds one option per `TrainConfig` field that has a group, in `OPTION_GROUPS`.

    `--<field-name>` takes the field's type (a comma-separated list where the field
    has a `parse`), default and choices; a bool field is a flag (`--no-<name>` for
    one that defaults to True). The help texts are the fields' `help`.
    """
    hints = typing.get_type_hints(TrainConfig)
    groups = {name: parser.add_argument_group(name) for name in OPTION_GROUPS}
    for field in dataclasses.fields(TrainConfig):
        meta = field.metadata
        if meta.get("group") is None:
            continue
        group = groups[meta["group"]]
        flag = "--" + field.name.replace("_", "-")
        help_text = meta["help"].replace("%", "%%")
        kind = _value_type(hints[field.name])
        if kind is bool:
            if field.default:
                group.add_argument(
                    "--no-" + flag[2:],
                    dest=field.name,
                    action="store_false",
                    help=f"no {help_text}",
                )
            else:
                group.add_argument(flag, action="store_true", help=help_text)
            continue
        kwargs: dict[str, Any] = dict(default=field.default, help=help_text)
        if meta["choices"] is not None:
            kwargs["choices"] = meta["choices"]
        elif meta["parse"] is None and kind in (int, float):
            kwargs["type"] = kind
        if meta["metavar"] is not None:
            kwargs["metavar"] = meta["metavar"]
        group.add_argument(flag, **kwargs)
        if meta["alias"] is not None:
            alias, value, alias_help = meta["alias"]
            group.add_argument(
                alias, dest=field.name, action="store_const", const=value, help=alias_help
            )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A `TrainConfig` from arguments parsed by `add_options` (recipe values still `None`).

    Raises:
        InputError: a list option is not comma-separated numbers.
    """
    values = {}
    for field in dataclasses.fields(TrainConfig):
        if not hasattr(args, field.name):
            continue
        value = getattr(args, field.name)
        parse = field.metadata.get("parse")
        if parse is not None and value is not None:
            value = parse(value, "--" + field.name.replace("_", "-"))
        values[field.name] = value
    return TrainConfig(**values)


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
    from kerashg.data.synthetic import parse_difficulty
    from kerashg.data.synthetic import resolve_config as render_config

    render_config(parse_difficulty(difficulty))


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
    _check_choices(config)
    recipe = config.recipe or recipe_name(config.data, has_gpu() if gpu is None else gpu)
    defaults = RECIPES[recipe]
    values = dataclasses.asdict(config)
    values["recipe"] = recipe
    # The per-phase values (lr, phase_epochs, milestones) are resolved below.
    for key in defaults.keys() - {"lr", "phase_epochs", "milestones"}:
        if values[key] is None:
            values[key] = defaults[key]
    model = values["model"]
    phases, index = _resolve_phases(config.phases, model)
    epochs = _resolve_epochs(config, recipe, model, phases, index)
    lr = _resolve_lr(config.lr, defaults["lr"], phases, index)
    milestones = _resolve_milestones(config.milestones, defaults["milestones"], phases, index)
    _check_run_values(values)
    values.update(phases=tuple(phases), phase_epochs=epochs, lr=lr, milestones=milestones)
    if values["out"] is None:
        values["out"] = str(pathlib.Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}")
    return TrainConfig(**values)


def _check_choices(config: TrainConfig) -> None:
    """Refuses a value outside its field's choices (None: the recipe's), and a
    `--difficulty` the synthetic renderer would not accept."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.metadata["choices"] is not None and value is not None:
            _check_choice(value, field.metadata["choices"], field.name)
    _check_difficulty(config.difficulty)


def _resolve_phases(given, model: str) -> tuple[tuple[str, ...], list[int]]:
    """The phases to run and their positions in the recipe's per-phase lists: the
    ACNN phases given (all by default), or a stacked hourglass' one phase."""
    if model == "acnn":
        phases = tuple(given) if given else PHASE_NAMES
        for name in phases:
            _check_choice(name, PHASE_NAMES, "phases")
        if list(phases) != sorted(set(phases)):
            raise InputError(
                f"--phases must list distinct phases in the order {', '.join(PHASE_NAMES)}. "
                f"Received: {','.join(phases)}"
            )
        return phases, [PHASE_NAMES.index(name) for name in phases]
    # "C": what runs saved before HOURGLASS_PHASE was named recorded.
    if given and tuple(given) not in ((HOURGLASS_PHASE,), ("C",)):
        raise InputError(
            "--phases applies to --model acnn only (a stacked hourglass trains in one "
            f"phase, {HOURGLASS_PHASE}). Received: --phases {','.join(given)}"
        )
    return (HOURGLASS_PHASE,), [0]


def _resolve_epochs(config: TrainConfig, recipe: str, model: str, phases, index) -> tuple:
    """Epochs per phase: `--phase-epochs`, else `--epochs` split as the recipe's,
    else the recipe's (a stacked hourglass: the sum of the recipe's phases)."""
    defaults = RECIPES[recipe]
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
    return epochs


def _resolve_lr(given, recipe_lr, phases, index) -> tuple[float, ...]:
    """One learning rate per phase: one given for all, one per phase, or the recipe's."""
    if given is None:
        lr = tuple(recipe_lr[i] for i in index)
    elif len(given) == 1:
        lr = tuple(given) * len(phases)
    elif len(given) == len(phases):
        lr = tuple(given)
    else:
        raise InputError(
            f"--lr needs one value or one per phase {','.join(phases)}. "
            f"Received: {','.join(map(str, given))}"
        )
    if any(not v > 0 for v in lr):
        raise InputError(f"--lr must be > 0. Received: {lr}")
    return lr


def _check_run_values(values: dict[str, Any]) -> None:
    """Refuses sizes below 1, a negative or non-finite time budget, negative steps,
    a real data set without `--data-dir`, COCO-only options on other data."""
    for key in ("stacks", "filters", "depth", "input_size", "batch_size"):
        if not int(values[key]) >= 1:
            raise InputError(f"--{key.replace('_', '-')} must be >= 1. Received: {values[key]}")
    budget = values["time_budget"]
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise InputError(f"--time-budget must be minutes >= 0 (0: no budget). Received: {budget}")
    if not int(values["steps_per_epoch"]) >= 0:
        raise InputError(
            "--steps-per-epoch must be >= 1, or 0 for one pass over the training split. "
            f"Received: {values['steps_per_epoch']}"
        )
    data = values["data"]
    if data != "synthetic" and not values["data_dir"]:
        raise InputError(f"--data {data} needs --data-dir (the data set's root folder)")
    for key in ("category", "flip_pairs"):
        if values[key] is not None and data != "coco":
            raise InputError(
                f"--{key.replace('_', '-')} is an option of COCO-format data (--data coco). "
                f"Received: --data {data}"
            )


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
