"""`python -m training.train`: train an ACNN or a stacked hourglass.

A thin argparse front over `train(TrainConfig)`, which builds the data, the
model, the phases and the `Trainer`, runs it, evaluates the final model on the
held-out split and writes `<out>/model.keras` and `<out>/metrics.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any

from kerashg import cli
from kerashg.errors import InputError
from kerashg.outputs import atomic_output, atomic_write_text, claimed_folder
from training.config import (
    OPTIMIZERS,
    TrainConfig,
    add_options,
    config_from_args,
    has_gpu,
    resolve_config,
    resolve_precision,
)
from training.recipes import CPU_DEFAULTS, GPU_DEFAULTS, RECIPES, describe_recipe

EPILOG = f"""
Device-dependent defaults (any option given explicitly wins):
  CPU only:  input {CPU_DEFAULTS["input_size"]}, filters {CPU_DEFAULTS["filters"]}, depth {CPU_DEFAULTS["depth"]}, stem {",".join(map(str, CPU_DEFAULTS["stem_filters"]))},
             batch {CPU_DEFAULTS["batch_size"]}, {CPU_DEFAULTS["steps_per_epoch"]} steps/epoch,
             ACNN phase epochs A,B,C = {",".join(map(str, CPU_DEFAULTS["phase_epochs"]))}, loss {CPU_DEFAULTS["loss"]}, optimizer {CPU_DEFAULTS["optimizer"]},
             schedule {CPU_DEFAULTS["schedule"]}, lr A,B,C = {",".join(map(str, CPU_DEFAULTS["lr"]))}.
             Sized so that `--stacks 4` on synthetic data ends within about 20 minutes on
             2 CPU cores: a {CPU_DEFAULTS["time_budget"]:g}-minute time budget for training (below), then the final
             evaluation and saves. Plain MSE + Keras' RMSprop and Glorot init stays on
             the all-zero heatmap plateau for such a short budget (with --init torch --optimizer
             rmsprop_torch it leaves it in a few hundred steps); the foreground-weighted
             MSE (--loss fg_mse) with Adam at a high rate (warm-up, ×0.1 for the last 20%)
             learns in it.
  GPU:       the papers' recipe: input {GPU_DEFAULTS["input_size"]}, filters {GPU_DEFAULTS["filters"]}, depth {GPU_DEFAULTS["depth"]}, batch {GPU_DEFAULTS["batch_size"]}, loss mse,
             optimizer rmsprop, lr A,B,C = {",".join(map(str, GPU_DEFAULTS["lr"]))} each ×0.1 after 80% of
             the phase (--schedule step), phase epochs {",".join(map(str, GPU_DEFAULTS["phase_epochs"]))}.
Recipes (--recipe NAME fills every option not given; epochs per phase A,B,C;
  "×0.1 at epochs" lists each phase's drops, --schedule milestones):
{chr(10).join("  " + describe_recipe(name) for name in RECIPES)}
Precision auto: mixed_float16 (with loss scaling) on a GPU; mixed_bfloat16 on a CPU
  with native bfloat16 (AVX512_BF16 / AMX; faster than float32 there, while float16
  is several times slower); float32 on other CPUs. Losses are always float32.
On a CPU, Grappler's graph optimisation is off (compiles each phase ~3× faster,
  steps no slower).
Time budget (--time-budget MINUTES, the CPU recipes' default; 0: none): the limit
  from the command's start to the end of training. The second epoch (the first
  traces) measures the seconds per step and per epoch outside steps (validation,
  saves); if the recipe's run would not fit, every later epoch takes the same
  smaller number of steps (each phase keeps its epochs, so the schedule keeps its
  shape); never more. One line prints the plan; --resume keeps it; metrics.json
  records it ("plan").
Strategy auto: MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored with
  several GPUs, otherwise one device. --batch-size is the global batch.
Outputs in --out: ckpt/ (latest checkpoints, also every --checkpoint-every
  steps), best/ (best validation PCK), logs/ (TensorBoard), config.json,
  metrics.json, model.keras. Multi-worker (TF_CONFIG): the chief, worker 0, writes
  these; worker i writes its ckpt/, best/, model.keras, metrics.json to --out/worker-i.
  model.keras holds the best validated weights while the run goes on (rewritten at
  each validation that improves), the final weights at its end.
Stopping: SIGTERM or Ctrl-C finishes the step, saves a checkpoint, keeps model.keras
  (the weights at the stop if nothing was validated yet), writes a partial
  metrics.json ("complete": false) and exits 128 + the signal number (143, 130); a
  second signal abandons at once. --resume continues; metrics.json's history and
  times (wall_seconds, commands) then cover every command of the run.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m training.train`."""
    parser = cli.parser(
        "python -m training.train",
        "Train an ACNN (default) or a stacked hourglass for heatmap pose estimation.",
        epilog=EPILOG,
    )
    add_options(parser)  # one option per TrainConfig field, help texts beside them
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Entry point of `python -m training.train`; returns the final metrics.

    Bad options or data: one `error:` line and exit status 2 (`kerashg.cli`);
    a diverged loss: one line and exit status 3.
    """
    return cli.run(build_parser, run, argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Trains as the parsed arguments say (see `main`)."""
    from training.stopping import NonFiniteLossError

    config = config_from_args(args)
    if config.resume:
        config = load_resume_config(config)
    try:
        return train(config)
    except NonFiniteLossError as error:
        print(cli.error_line(error), file=sys.stderr)
        raise SystemExit(3) from None


# Options a resumed run may take other than its saved ones: where and how it runs,
# not what it trains.
RESUME_MAY_CHANGE = ("out", "resume", "strategy", "tensorboard", "checkpoint_every")


def load_resume_config(config: TrainConfig) -> TrainConfig:
    """The saved `<out>/config.json` of the run `config.out` to resume.

    Raises:
        InputError: the run is complete (nothing to continue, nothing rewritten),
            or `config` sets options the saved run contradicts (`--model`,
            `--filters`, `--input-size`, `--data`, `--data-dir`, ...: all but
            `RESUME_MAY_CHANGE`), named in one line.
    """
    if not config.out:
        raise InputError("--resume needs --out, the folder of the run to continue")
    path = pathlib.Path(config.out) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"--resume: no run to continue in {config.out} (missing {path})")
    try:
        saved = TrainConfig.from_json(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"not a training configuration: {error}", path=path) from None
    metrics = pathlib.Path(config.out) / "metrics.json"
    try:
        complete = json.loads(metrics.read_text()).get("complete") is True
    except (OSError, ValueError, AttributeError):
        complete = False
    if complete:
        raise InputError(
            "--resume: the run is complete (metrics.json says so); nothing to continue, and "
            "its model.keras and metrics.json are kept; expected a stopped run, or a new "
            "--out for a new one",
            path=metrics,
        )
    contradicting = _contradicting_options(config, saved)
    if contradicting:
        raise InputError(
            f"--resume continues the run with its saved settings; these options contradict "
            f"them: {', '.join(contradicting)}; expected no such options (or a new --out)",
            path=path,
        )
    return dataclasses.replace(
        saved, resume=True, out=config.out, strategy=config.strategy,
        tensorboard=config.tensorboard, checkpoint_every=config.checkpoint_every,
    )  # fmt: skip


def _contradicting_options(given: TrainConfig, saved: TrainConfig) -> list[str]:
    """`--option VALUE (the run's: SAVED)` for each option given (not its default)
    whose value differs from the saved, resolved run's."""
    found = []
    for field in dataclasses.fields(TrainConfig):
        value = getattr(given, field.name)
        if field.name in RESUME_MAY_CHANGE or value == field.default:
            continue  # not given (an option given at its default cannot be told apart)
        held = getattr(saved, field.name)
        if field.name in ("data_dir", "init_from") and value and held:
            same = pathlib.Path(value).resolve() == pathlib.Path(held).resolve()
        elif isinstance(value, tuple) and isinstance(held, (tuple, list)):
            same = list(map(str, value)) == list(map(str, held))  # a short list is not expanded
            same = same or _flat(value) == _flat(held)
        else:
            same = value == held
        if not same:
            flag = "--" + field.name.replace("_", "-")
            found.append(f"{flag} {_shown(value)} (the run's: {_shown(held)})")
    return found


def _flat(value) -> list[str]:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [repr(float(value)) if isinstance(value, (int, float)) else str(value)]


def _shown(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_shown(v) for v in value)
    return str(value)


def train(config: TrainConfig) -> dict[str, Any]:
    """Trains a model as `config` says and returns the final metrics.

    Writes `<out>/config.json`, checkpoints, TensorBoard logs, `model.keras` and
    `metrics.json` (see `build_parser`'s epilog).

    Args:
        config: the run's settings; `None` fields take the device's defaults.

    Returns:
        dict: `pck` (percent, held-out split, the data set's PCK named by
        `pck_metric`: PCK@0.2 of the torso for LSP, PCK@0.5 of head size otherwise),
        `train_seconds`, `history` and the model and data settings.

    Raises:
        InputError / FileNotFoundError: bad settings or data, before training.
        NonFiniteLossError: the loss diverged (the last good checkpoint is kept).
        training.stopping.TrainingInterrupted: a `SystemExit` (code 128 + signal number)
            after SIGTERM/SIGINT during training, once the checkpoint, `model.keras`
            and a partial `metrics.json` are saved (the handlers are then restored).
    """
    from training import distribution, sources
    from training.runtime_settings import runtime_settings

    started = time.perf_counter()
    config = resolve_config(config)
    print(f"Recipe {describe_recipe(config.recipe)} (options given explicitly win)")
    out = pathlib.Path(config.out)
    _check_new_run(config, out)  # at once; again once the folder is claimed
    # The strategy before any tensor: MultiWorkerMirroredStrategy must configure
    # collective ops before TensorFlow's context starts (the data sources make tensors).
    strategy = distribution.make_strategy(config.strategy)
    # Data next: a missing folder or a wrong layout fails before any model is built.
    data = sources.make_source(config)
    if not config.steps_per_epoch:  # 0: an epoch is one pass over the training split
        config = dataclasses.replace(config, steps_per_epoch=data.steps_per_epoch)
    policy = resolve_precision(config.precision)
    # The dtype policy, op determinism and (on a CPU, where it only slows the first
    # step of each phase) Grappler off, for this run only: restored on return.
    switches = dict(deterministic=config.deterministic, graph_optimization=has_gpu())
    # One command per run folder: a second one given the same --out is refused here,
    # before it writes anything (two at once used to both run, the later one's files
    # replacing the earlier one's).
    with claimed_folder(distribution.worker_out_dir(strategy, out)):
        _check_new_run(config, out)
        with runtime_settings(policy=policy, **switches):
            return _train(config, strategy, data, policy, started)


def _check_new_run(config: TrainConfig, out: pathlib.Path) -> None:
    """Refuses a new run (no --resume) in a folder that holds a run's checkpoints."""
    if not config.resume and (out / "ckpt").exists():
        raise InputError(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )


def _train(config: TrainConfig, strategy, data, policy: str, started: float) -> dict[str, Any]:
    """`train` once the data, the strategy and the process-wide settings are in place."""
    import keras

    from training import stopping

    keras.utils.set_random_seed(config.seed)
    out = pathlib.Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if not config.resume:
        atomic_write_text(out / "config.json", config.to_json())

    model, optimizer = _model_and_optimizer(config, strategy, data, policy)
    phases = _phases(config)
    trainer = _trainer(config, strategy, data, model, optimizer, phases, started)
    print(_run_line(config, model, policy, strategy, phases))
    if config.resume and not trainer.restore():
        print(f"No checkpoint in {out / 'ckpt'}: starting from the beginning.")
    settings = _settings(config, model, policy, data, phases)
    try:
        # SIGTERM / Ctrl-C: finish the step, save a checkpoint, exit 128 + signal number.
        with stopping.stop_on_signals(trainer):
            trainer.fit()
    except stopping.TrainingInterrupted as stop:
        _save_stopped_run(out, model, trainer, stop, settings, config)
        raise
    return _finish(config, strategy, data, model, trainer, settings)


def _model_and_optimizer(config: TrainConfig, strategy, data, policy: str):
    """`(model, optimizer)` built in the strategy's scope; a new run with --init-from
    starts from that model's weights (a resumed run restores its checkpoint)."""
    with strategy.scope():
        model = build_model(config, data.num_keypoints, data.codec, data.keypoint_set)
        optimizer = build_optimizer(config.optimizer, config.lr[0], policy)
        if config.init_from and not config.resume:
            from training.transfer import init_from

            report = init_from(model, config.init_from, data.keypoint_set)
            print(f"Initialised from {config.init_from}: {report.summary()}")
    return model, optimizer


def _phases(config: TrainConfig) -> list:
    """The run's `training.phases.Phase` list: the ACNN's A, B, C as `--phases`
    chooses, or one joint phase."""
    from training.phases import acnn_phases, joint_phase

    if config.model == "acnn":
        return acnn_phases(config.phases, config.lr, config.phase_epochs, config.milestones)
    return joint_phase(config.lr[0], config.phase_epochs[0], config.milestones[0])


def _trainer(config: TrainConfig, strategy, data, model, optimizer, phases, started: float):
    """The `training.loop.Trainer` of the run, writing to `config.out`."""
    from training import distribution, loop
    from training.schedule import Schedule

    out = pathlib.Path(config.out)
    return loop.Trainer(
        model,
        optimizer,
        phases,
        strategy=strategy,
        train_data=data.train_dataset,
        global_batch_size=config.batch_size,
        steps_per_epoch=config.steps_per_epoch,
        out_dir=out,
        validate=data.validate,
        schedule=Schedule(config.schedule, config.drop_at, config.warmup_steps),
        foreground_weight=config.foreground_weight if config.loss == "fg_mse" else 0.0,
        checkpoint_every=config.checkpoint_every,
        tensorboard=config.tensorboard,
        # The best weights so far are the run's model until it ends: a cut run keeps them.
        on_best=lambda best: save_model_atomic(
            best, distribution.worker_out_dir(strategy, out) / "model.keras"
        ),
        wall_start=started,
        time_budget=config.time_budget * 60.0 if config.time_budget else None,
    )


def _run_line(config: TrainConfig, model, policy: str, strategy, phases) -> str:
    """The line that says what trains: model, data, precision, phases, optimizer, out."""
    return (
        f"Training {config.model} ({config.stacks} stacks, {config.filters} filters, depth "
        f"{config.depth}, {config.input_size}×{config.input_size}, {model.count_params():,} "
        f"parameters) on {config.data}; {policy}; {strategy.num_replicas_in_sync} replica(s); "
        f"phases {','.join(p.name for p in phases)} epochs {config.phase_epochs} × "
        f"{config.steps_per_epoch} steps, global batch {config.batch_size}; optimizer "
        f"{config.optimizer}, init {config.init}, lr {config.lr}, schedule {config.schedule}"
        + (f" (×0.1 at epochs {config.milestones})" if config.schedule == "milestones" else "")
        + f"; out {pathlib.Path(config.out)}"
    )


def _settings(config: TrainConfig, model, policy: str, data, phases) -> dict[str, Any]:
    """The model, data, phase and recipe settings that `metrics.json` records."""
    return {
        "model": {
            "name": config.model,
            "stacks": config.stacks,
            "filters": config.filters,
            "depth": config.depth,
            "stem_filters": list(config.stem_filters),
            "input_size": config.input_size,
            "parameters": int(model.count_params()),
            "precision": policy,
        },
        "data": {"name": config.data, "data_dir": config.data_dir, "split": data.val_split},
        "phases": [dataclasses.asdict(p) for p in phases],
        "recipe": {"name": config.recipe, **RECIPES[config.recipe]},
    }


def _finish(config: TrainConfig, strategy, data, model, trainer, settings) -> dict[str, Any]:
    """Scores the trained model on the held-out split (flip test), writes `model.keras`
    and `metrics.json`, prints the tables and returns the metrics."""
    from training import distribution

    final = data.validate(model, images=False, flip=True, table=True)
    metrics = {
        "pck": final["pck"],
        "pck_flip": final["pck_flip"],
        "pck_table": final["table"],
        "pck_metric": data.pck_label,
        "pck_threshold": data.pck_threshold,
        "pck_normalizer": data.normalizer_name,
        "val_images": final.get("val_images"),
        **_run_record(trainer, "complete", settings, config),
        "complete": True,
    }
    # Multi-worker: the chief writes to --out, every other worker to --out/worker-<i>
    # (the folder may be shared; its files are not the chief's).
    final_dir = distribution.worker_out_dir(strategy, pathlib.Path(config.out))
    final_dir.mkdir(parents=True, exist_ok=True)
    save_model_atomic(model, final_dir / "model.keras")
    atomic_write_text(final_dir / "metrics.json", json.dumps(metrics, indent=2, default=float))
    print(format_table(metrics))
    print(format_joint_table(metrics))
    return metrics


def build_model(config: TrainConfig, num_keypoints: int, codec=None, keypoint_set=None):
    """The Keras model of `config` (call inside the strategy's scope).

    Args:
        codec: the run's `HeatmapCodec` (the data source's, which made the
            targets); default `training.sources.make_codec(config)`. It becomes
            `model.codec`, saved with the model, so an export or a prediction
            decodes as validation did (`--sigma`, `--refine`).
        keypoint_set: the data set's `KeypointSet` (`Source.keypoint_set`: the
            names, flip pairs and skeleton of a COCO file's own category, or a
            built-in set); saved with the model as `model.keypoint_set`.
    """
    import kerashg
    from training.sources import make_codec

    model_class = kerashg.ACNN if config.model == "acnn" else kerashg.StackedHourglass
    codec = codec or make_codec(config)
    return model_class(
        num_keypoints=num_keypoints,
        codec=codec,
        keypoint_set=keypoint_set,
        **model_kwargs(config),
    )


def model_kwargs(config: TrainConfig) -> dict:
    """The model constructor's arguments that `config` sets, under the model's names.

    The one place the options' short names meet the model's: `--stacks` is
    `num_stacks`, the square `--input-size` is `input_shape` (H, W, 3).
    """
    kwargs = {
        "num_stacks": config.stacks,
        "input_shape": (config.input_size, config.input_size, 3),
        "filters": config.filters,
        "depth": config.depth,
        "stem_filters": tuple(config.stem_filters),
    }
    if config.init == "torch":
        kwargs.update(kernel_initializer="torch", bias_initializer="torch")
    if config.model == "acnn":
        kwargs["mask"] = config.mask
    return kwargs


def build_optimizer(name: str, learning_rate: float, policy: str):
    """Keras' RMSprop with the Torch code's constants (alpha 0.99, eps 1e-8),
    Torch's own RMSprop update (`rmsprop_torch`, `training.optimizers.TorchRMSprop`)
    or Adam.

    Wrapped in a `LossScaleOptimizer` under `mixed_float16`.
    """
    import keras

    if name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate, rho=0.99, epsilon=1e-8)
    elif name == "rmsprop_torch":
        from training.optimizers import TorchRMSprop

        optimizer = TorchRMSprop(learning_rate, alpha=0.99, epsilon=1e-8)
    elif name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate)
    else:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}. Received: {name!r}")
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def format_table(metrics: dict[str, Any]) -> str:
    """The final summary table printed at the end of a run."""
    m = metrics["model"]
    rows = [
        (
            "model",
            f"{m['name']} {m['stacks']} stacks, {m['filters']} filters, depth {m['depth']}, {m['input_size']}px",
        ),
        ("parameters", f"{m['parameters']:,}"),
        ("precision", m["precision"]),
        (
            "data",
            f"{metrics['data']['name']} ({metrics['data']['split']}, {metrics['val_images']} images)",
        ),
        (metrics.get("pck_metric", "PCK@0.5 (head size)"), f"{metrics['pck']:.2f} %"),
        ("with flip test", f"{metrics['pck_flip']:.2f} %"),
        (
            "best epoch PCK",
            "-" if metrics["best_epoch_pck"] is None else f"{metrics['best_epoch_pck']:.2f} %",
        ),
        (
            "train seconds",
            f"{metrics['train_seconds']:.0f} (optimizer steps incl. tracing, over all resumes)",
        ),
        (
            "wall seconds",
            f"{metrics['wall_seconds']:.0f} ("
            + (
                f"{len(metrics['commands'])} commands"
                if len(metrics.get("commands", [])) > 1
                else "whole command"
            )
            + ")",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def format_joint_table(metrics: dict[str, Any]) -> str:
    """The final figure per joint group (or joint) as a two-line table."""
    table = metrics["pck_table"]
    groups = [k for k in table if k not in ("total", "threshold", "per_joint", "notes")]
    names = groups or list(table["per_joint"])
    values = [table[k] for k in groups] if groups else list(table["per_joint"].values())
    label = metrics.get("pck_metric", "PCK")
    header = " ".join(f"{n:>8}" for n in [*names, "Total"])
    row = " ".join(f"{'-' if v is None else f'{v:.1f}':>8}" for v in [*values, table["total"]])
    return f"{label} per joint:\n{header}\n{row}"


def _run_record(trainer, ended: str, settings: dict, config: TrainConfig) -> dict[str, Any]:
    """What `metrics.json` holds of a run however it ended: the best epoch, the
    train and wall seconds over every command (resumes included), the settings,
    the history and the config."""
    commands = trainer.commands
    commands[-1]["ended"] = ended
    return {
        "best_epoch_pck": trainer.best_pck,
        "best_checkpoint": trainer.best_checkpoint,
        "train_seconds": trainer.train_seconds,
        "wall_seconds": sum(c["wall_seconds"] for c in commands),
        "commands": commands,
        **settings,
        "history": trainer.history,
        # Steps per epoch and, under a time budget, what sized them (`training.budget.Plan`).
        "plan": dataclasses.asdict(trainer.plan),
        "config": dataclasses.asdict(config),
    }


def _save_stopped_run(out, model, trainer, stop, settings, config) -> None:
    """A run stopped by a signal keeps its work: `model.keras` and a partial `metrics.json`.

    `model.keras` holds the best validated weights (written at that validation),
    or, before any validation, the weights at the stop. `metrics.json` has
    `complete: false`, the history and times so far, and no final PCK.
    """
    import signal

    path = out / "model.keras"
    if trainer.best_pck is not None and path.exists():
        holds = f"best validated weights (epoch PCK {trainer.best_pck:.2f} %)"
    else:
        save_model_atomic(model, path)
        holds = "the weights at the stop (not validated)"
    name = signal.Signals(stop.signum).name
    metrics = {
        "complete": False,
        "stopped_by": name,
        "model_keras": holds,
        "latest_checkpoint": stop.checkpoint,
        **_run_record(trainer, name, settings, config),
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float))
    print(f"{path}: {holds}. Continue with --resume --out {out}", flush=True)


def save_model_atomic(model, path: pathlib.Path) -> None:
    """`model.save(path)` through a temporary file and a rename (no half-written file).

    Raises:
        InputError: the disk is full (or read-only, or over quota): one line naming
            `path`; the epoch's checkpoint is written before it, so `--resume`
            continues once there is room.
    """
    try:
        with atomic_output(path, force=True) as tmp:  # tmp ends in `path`'s name: `.keras`
            model.save(tmp)
    except OSError as error:
        if error.errno not in cli.DISK_ERRNOS:
            raise
        raise InputError(
            f"cannot be written: {error.strerror or 'no space left on device'}; the run's "
            f"latest checkpoint is kept: make room, then --resume --out {path.parent} continues",
            path=path,
        ) from None


if __name__ == "__main__":
    main()
