"""`python -m training.train`: train an ACNN or a stacked hourglass.

A thin argparse front over `train(TrainConfig)`, which builds the data, the
model, the phases and the `Trainer`, runs it, evaluates the final model on the
held-out split and writes `<out>/model.keras` and `<out>/metrics.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from kerashg import cli
from kerashg.errors import InputError
from training.config import (
    AUGMENT_LEVELS,
    CPU_DEFAULTS,
    DATA_SETS,
    GPU_DEFAULTS,
    INITS,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    PRECISIONS,
    RECIPES,
    REFINEMENTS,
    SCHEDULES,
    STRATEGIES,
    TrainConfig,
    describe_recipe,
    has_gpu,
    resolve_config,
    resolve_precision,
)

EPILOG = f"""
Device-dependent defaults (any option given explicitly wins):
  CPU only:  input {CPU_DEFAULTS["input_size"]}, filters {CPU_DEFAULTS["filters"]}, depth {CPU_DEFAULTS["depth"]}, stem {",".join(map(str, CPU_DEFAULTS["stem_filters"]))},
             batch {CPU_DEFAULTS["batch_size"]}, {CPU_DEFAULTS["steps_per_epoch"]} steps/epoch,
             ACNN phase epochs A,B,C = {",".join(map(str, CPU_DEFAULTS["phase_epochs"]))}, loss {CPU_DEFAULTS["loss"]}, optimizer {CPU_DEFAULTS["optimizer"]},
             schedule {CPU_DEFAULTS["schedule"]}, lr A,B,C = {",".join(map(str, CPU_DEFAULTS["lr"]))}.
             Sized so that `--stacks 4` on synthetic data finishes in about 15 minutes on
             2 CPU cores. Plain MSE + Keras' RMSprop and Glorot init stays on the all-zero
             heatmap plateau for such a short budget (with --init torch --optimizer
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
    model = parser.add_argument_group("model")
    model.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        help="named recipe that fills every option not given (see the list below; "
        "default: gpu on a GPU, else cpu, or cpu-real for a real data set)",
    )
    model.add_argument(
        "--model",
        choices=MODELS,
        help="architecture (default: the recipe's, acnn but for hourglass-paper)",
    )
    model.add_argument(
        "--stacks",
        type=int,
        help="number of stacks S (default: the recipe's, 4; 8 for hourglass-paper)",
    )
    model.add_argument(
        "--init",
        choices=INITS,
        help="convolution initialisation: glorot (Keras', zero biases) or torch (Torch7's "
        "U(±1/√fan_in) for weights and biases; the paper recipes') (default: the recipe's)",
    )
    model.add_argument("--filters", type=int, help="hourglass channels (default: per device)")
    model.add_argument("--depth", type=int, help="halvings in each hourglass (default: per device)")
    model.add_argument(
        "--stem-filters",
        help="stem widths: 7×7 conv, half-resolution residuals, e.g. 64,128 (the paper's; "
        "default: per device)",
    )
    model.add_argument(
        "--input-size", type=int, help="square input side in pixels (default: per device)"
    )
    model.add_argument("--mask", choices=("soft", "hard"), default="soft", help="ACNN mask")

    data = parser.add_argument_group("data")
    data.add_argument("--data", choices=DATA_SETS, default="synthetic", help="data set")
    data.add_argument("--data-dir", help="root folder of mpii/coco/lsp data (its usual layout)")
    data.add_argument(
        "--val-images",
        type=int,
        help="held-out images validated each epoch (default: 256 synthetic figures, or the "
        "real data set's whole held-out split)",
    )
    data.add_argument(
        "--synthetic-pool",
        type=int,
        default=4096,
        help="synthetic training images rendered once, cropped and augmented every epoch",
    )
    data.add_argument(
        "--difficulty",
        default="moderate",
        help="synthetic data difficulty: easy, moderate, hard or a level in [0, 1]",
    )
    data.add_argument(
        "--sigma",
        type=float,
        help="target Gaussian std in heatmap pixels (default: per device and data set)",
    )
    data.add_argument(
        "--refine",
        choices=REFINEMENTS,
        default="dark",
        help="sub-pixel refinement of decoded joints in validation: dark (DARK, Zhang et "
        "al. 2020) or quarter (the original hourglass code's quarter pixel)",
    )
    data.add_argument(
        "--augment",
        choices=AUGMENT_LEVELS,
        help="training-crop augmentation: full (scale ±25%%, rotation ±30°, flip, colour: the "
        "hourglass recipe; GPU default), light (flip, scale ±10%%, colour; CPU default) or none",
    )
    data.add_argument(
        "--no-augment",
        dest="augment",
        action="store_const",
        const="none",
        help="the same as --augment none",
    )

    sched = parser.add_argument_group("schedule")
    sched.add_argument("--phases", help="ACNN phases to run, e.g. A,B,C (default) or A or B,C")
    sched.add_argument(
        "--epochs", type=int, help="total epochs, split over the phases in the default proportions"
    )
    sched.add_argument(
        "--phase-epochs", help="epochs per selected phase, e.g. 10,2,2 (wins over --epochs)"
    )
    sched.add_argument(
        "--steps-per-epoch", type=int, help="optimizer steps per epoch (default: per device)"
    )
    sched.add_argument(
        "--batch-size", type=int, help="global batch size over all replicas (default: per device)"
    )
    sched.add_argument(
        "--lr", help="learning rate: one value, or one per selected phase (e.g. 5e-4,2.5e-4,2.5e-4)"
    )
    sched.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="step: ×0.1 late in each phase (papers); warmup_step: the same after a warm-up; cosine: warm-up + cosine decay",
    )
    sched.add_argument(
        "--drop-at",
        type=float,
        default=0.8,
        help="fraction of a phase before the step drop",
    )
    sched.add_argument(
        "--warmup-steps",
        type=int,
        default=100,
        help="warm-up steps of the cosine schedule",
    )
    sched.add_argument(
        "--loss", choices=LOSSES, help="mse (the papers') or fg_mse (foreground-weighted)"
    )
    sched.add_argument(
        "--foreground-weight",
        type=float,
        default=20.0,
        help="w in (1 + w·target) of fg_mse",
    )
    sched.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="rmsprop (Keras', Torch's constants), rmsprop_torch (Torch's optim.rmsprop "
        "update, the papers') or adam",
    )

    running = parser.add_argument_group("run")
    running.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="dtype policy (auto: see below)"
    )
    running.add_argument(
        "--strategy", choices=STRATEGIES, default="auto", help="tf.distribute strategy (see below)"
    )
    running.add_argument(
        "--init-from",
        metavar="MODEL.keras",
        help="start from this model's weights (same size of network; the optimizer starts "
        "fresh; heatmap channels mapped by joint name across keypoint sets, e.g. a synthetic "
        "MPII-16 model to LSP-14)",
    )
    running.add_argument("--out", help="output folder (default runs/<model>-<timestamp>)")
    running.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint, with its saved config.json",
    )
    running.add_argument("--seed", type=int, default=0, help="seed of weights and data")
    running.add_argument(
        "--deterministic",
        action="store_true",
        help="TensorFlow op determinism (reproducible, slower)",
    )
    running.add_argument(
        "--checkpoint-every",
        type=int,
        default=200,
        help="steps between checkpoints (also one each epoch)",
    )
    running.add_argument(
        "--no-tensorboard",
        dest="tensorboard",
        action="store_false",
        help="no TensorBoard summaries",
    )
    return parser


def _floats(text: str | None, name: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{name} must be comma-separated numbers. Received: {text!r}") from None


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A `TrainConfig` from parsed arguments (device defaults still `None`)."""
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }
    values["phases"] = (
        tuple(p.strip().upper() for p in args.phases.split(",")) if args.phases else None
    )
    epochs = _floats(args.phase_epochs, "--phase-epochs")
    values["phase_epochs"] = tuple(int(e) for e in epochs) if epochs else None
    values["lr"] = _floats(args.lr, "--lr")
    stem = _floats(args.stem_filters, "--stem-filters")
    values["stem_filters"] = tuple(int(v) for v in stem) if stem else None
    return TrainConfig(**values)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Entry point of `python -m training.train`; returns the final metrics.

    Bad options or data: one `error:` line and exit status 2 (`kerashg.cli`);
    a diverged loss: one line and exit status 3.
    """
    return cli.run(build_parser, run, argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Trains as the parsed arguments say (see `main`)."""
    from training.loop import NonFiniteLossError

    config = config_from_args(args)
    if config.resume:
        config = load_resume_config(config)
    try:
        return train(config)
    except NonFiniteLossError as error:
        print(cli.error_line(error), file=sys.stderr)
        raise SystemExit(3) from None


def load_resume_config(config: TrainConfig) -> TrainConfig:
    """The saved `<out>/config.json` of the run `config.out` to resume."""
    if not config.out:
        raise InputError("--resume needs --out, the folder of the run to continue")
    path = pathlib.Path(config.out) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"--resume: no run to continue in {config.out} (missing {path})")
    try:
        saved = TrainConfig.from_json(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"not a training configuration: {error}", path=path) from None
    return dataclasses.replace(saved, resume=True, out=config.out)


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
        training.loop.TrainingInterrupted: a `SystemExit` (code 128 + signal number)
            after SIGTERM/SIGINT during training, once the checkpoint, `model.keras`
            and a partial `metrics.json` are saved (the handlers are then restored).
    """
    import keras
    import tensorflow as tf

    from training import loop, sources

    started = time.perf_counter()
    from training.phases import acnn_phases, joint_phase

    config = resolve_config(config)
    print(f"Recipe {describe_recipe(config.recipe)} (options given explicitly win)")
    out = pathlib.Path(config.out)
    if not config.resume and (out / "ckpt").exists():
        raise InputError(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )
    # The strategy before any tensor: MultiWorkerMirroredStrategy must configure
    # collective ops before TensorFlow's context starts (the data sources make tensors).
    strategy = loop.make_strategy(config.strategy)
    # Data next: a missing folder or a wrong layout fails before any model is built.
    data = sources.make_source(config)
    if not config.steps_per_epoch:  # 0: an epoch is one pass over the training split
        config = dataclasses.replace(config, steps_per_epoch=data.steps_per_epoch)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if not has_gpu():
        # Measured on a 2-core CPU (4-stack ACNN, 64×64): Grappler's graph
        # rewrites make the first call of each phase's step ~3× slower (60 s vs
        # 21 s) and the steps no faster.
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    keras.utils.set_random_seed(config.seed)
    policy = resolve_precision(config.precision)
    keras.mixed_precision.set_global_policy(policy)
    out.mkdir(parents=True, exist_ok=True)
    if not config.resume:
        _atomic_write_text(out / "config.json", config.to_json())

    with strategy.scope():
        model = build_model(config, data.num_keypoints)
        optimizer = build_optimizer(config.optimizer, config.lr[0], policy)
        if config.init_from and not config.resume:  # a resumed run restores its checkpoint
            from training.transfer import init_from

            report = init_from(model, config.init_from, data.keypoint_set)
            print(f"Initialised from {config.init_from}: {report.summary()}")
    if config.model == "acnn":
        phases = acnn_phases(config.phases, config.lr, config.phase_epochs, config.milestones)
    else:
        phases = joint_phase(config.lr[0], config.phase_epochs[0], config.milestones[0])
    trainer = loop.Trainer(
        model,
        optimizer,
        phases,
        strategy=strategy,
        train_data=data.train_dataset,
        global_batch_size=config.batch_size,
        steps_per_epoch=config.steps_per_epoch,
        out_dir=out,
        validate=data.validate,
        schedule=loop.Schedule(config.schedule, config.drop_at, config.warmup_steps),
        foreground_weight=config.foreground_weight if config.loss == "fg_mse" else 0.0,
        checkpoint_every=config.checkpoint_every,
        tensorboard=config.tensorboard,
        # The best weights so far are the run's model until it ends: a cut run keeps them.
        on_best=lambda best: save_model_atomic(
            best, loop.worker_out_dir(strategy, out) / "model.keras"
        ),
        wall_start=started,
    )
    print(
        f"Training {config.model} ({config.stacks} stacks, {config.filters} filters, depth "
        f"{config.depth}, {config.input_size}×{config.input_size}, {model.count_params():,} "
        f"parameters) on {config.data}; {policy}; {strategy.num_replicas_in_sync} replica(s); "
        f"phases {','.join(p.name for p in phases)} epochs {config.phase_epochs} × "
        f"{config.steps_per_epoch} steps, global batch {config.batch_size}; optimizer "
        f"{config.optimizer}, init {config.init}, lr {config.lr}, schedule {config.schedule}"
        + (f" (×0.1 at epochs {config.milestones})" if config.schedule == "milestones" else "")
        + f"; out {out}"
    )
    if config.resume and not trainer.restore():
        print(f"No checkpoint in {out / 'ckpt'}: starting from the beginning.")
    settings = {
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
    try:
        # SIGTERM / Ctrl-C: finish the step, save a checkpoint, exit 128 + signal number.
        with loop.stop_on_signals(trainer):
            trainer.fit()
    except loop.TrainingInterrupted as stop:
        _save_stopped_run(out, model, trainer, stop, settings, config)
        raise

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
    final_dir = loop.worker_out_dir(strategy, out)
    final_dir.mkdir(parents=True, exist_ok=True)
    save_model_atomic(model, final_dir / "model.keras")
    _atomic_write_text(final_dir / "metrics.json", json.dumps(metrics, indent=2, default=float))
    print(format_table(metrics))
    print(format_joint_table(metrics))
    return metrics


def build_model(config: TrainConfig, num_keypoints: int):
    """The Keras model of `config` (call inside the strategy's scope)."""
    import kerashg

    shape = (config.input_size, config.input_size, 3)
    common = dict(
        num_stacks=config.stacks,
        num_keypoints=num_keypoints,
        filters=config.filters,
        depth=config.depth,
        input_shape=shape,
        stem_filters=tuple(config.stem_filters),
    )
    if config.init == "torch":
        common.update(kernel_initializer="torch", bias_initializer="torch")
    if config.model == "acnn":
        return kerashg.ACNN(mask=config.mask, **common)
    return kerashg.StackedHourglass(**common)


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
    _atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float))
    print(f"{path}: {holds}. Continue with --resume --out {out}", flush=True)


def _atomic_write_text(path: pathlib.Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def save_model_atomic(model, path: pathlib.Path) -> None:
    """`model.save(path)` through a temporary file and a rename (no half-written file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


if __name__ == "__main__":
    main()
