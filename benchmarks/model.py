"""Model throughput and memory benchmark: Keras (kerashg) against eager PyTorch.

    python -m benchmarks.model [--model acnn|hourglass] [--stacks 2] [--filters 256]
        [--input-size 256] [--batch-size 4] [--steps N] [--warmup N]
        [--precision float32 mixed_bfloat16 ...] [--jit-compile [off|on|both]]
        [--optimizer rmsprop|adam] [--torch] [--twin] [--rounds 2] [--json]

The comparison of issue 11, in one run (the defaults are its network: 2-stack,
256-filter, 256×256 Stacked Hourglass, batch 4):

    python -m benchmarks.model --torch

Configurations. One per Keras dtype policy of `--precision` (`--jit-compile
both` adds an XLA-compiled one per policy); with `--torch` the same network in
plain eager PyTorch (`benchmarks/torch_hourglass.py`, `benchmarks/torch_network.py`)
in float32 channels_first (PyTorch's default layout, "torch eager float32"),
float32 channels_last and, when mixed_bfloat16 is asked for, bfloat16 CPU
autocast in channels_last; with `--twin` the same network once more per Keras
policy, built from stock Keras layers only (`benchmarks/keras_twin.py`), to
show what kerashg's own layer classes cost.

Each configuration runs in its own subprocess (Keras: `--child keras|twin`,
PyTorch: `python -m benchmarks.torch_hourglass`), with the same intra-op
thread count, so the two frameworks never share a process or a thread pool and
each reports its own peak resident memory (VmHWM of /proc/self/status at the
end of the child, after its forward and training timings, in MB of 2**20
bytes; `resource.getrusage` where /proc is absent). The child builds the
network, runs a forward pass (`training=False`) and a training step `--warmup`
times, then times `--steps` calls of each and prints one JSON line.

The training step is the same in both frameworks: MSE over every stage's
heatmaps against a random target of the output's shape (every stage
supervised), then one step of `--optimizer` with the same constants:
RMSprop (Keras `keras.optimizers.RMSprop` rho 0.99, epsilon 1e-8; PyTorch
`torch.optim.RMSprop` alpha 0.99, eps 1e-8) or Adam (epsilon 1e-8), learning
rate 2.5e-4 as in the hourglass recipe. Keras' RMSprop divides by
sqrt(v + eps) and PyTorch's by sqrt(v) + eps: the same cost, so it does not
matter for speed. Under mixed_float16 the Keras optimizer is wrapped in a
loss-scale optimizer.

Rounds. The whole list of configurations runs `--rounds` times in
alternation (round 1: every configuration, Keras and PyTorch interleaved;
round 2: all of them again; ...), so a shared machine's drift in speed hits
both frameworks alike. The table gives, per configuration, the median of its
rounds and their min–max; peak RSS is the maximum over the rounds. The ratios
use the medians, and the last lines are:

    train float32: keras X img/s / torch eager float32 Y img/s = R×  (goal ≥ 1.2×)
    train best: keras (NAME) X / torch (NAME) Y = R×  (goal ≥ 1.5×)
    peak RSS training: keras float32 A MB / torch eager float32 B MB = R×  (goal ≤ 1.2×)

"best" is the fastest training configuration of each framework (Keras:
float32, mixed_bfloat16, XLA if asked; PyTorch: float32 channels_first,
channels_last, bfloat16 autocast). With `--twin` a line per Keras policy
compares kerashg with its stock-Keras twin. With `--json` one JSON object with
every round's results, the summaries and the ratios is printed last.

FLOPs are counted analytically from the Conv2D ops of the traced Keras forward
graph (2 × multiply-adds; BN, ReLU, pooling and additions, a few percent, are
left out); train GFLOP/s counts a training step as 3 forward passes.
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

import kerashg  # no TensorFlow until a model is built
from kerashg import cli
from kerashg.errors import InputError

# Model name → kerashg class name.
MODELS = {"acnn": "ACNN", "hourglass": "StackedHourglass"}
DEPTH = 4
NUM_KEYPOINTS = 16
# The hourglass recipe's learning rate (RMSprop 2.5e-4).
LEARNING_RATE = 2.5e-4
OPTIMIZERS = ("rmsprop", "adam")
# Issue 11's goals: Keras / PyTorch training images/s (float32, best mode each),
# and Keras' peak training memory at most this multiple of PyTorch's.
GOAL_TRAIN_FLOAT32 = 1.2
GOAL_TRAIN_BEST = 1.5
GOAL_RSS = 1.2
# The configurations the ratios compare.
KERAS_FLOAT32 = "keras float32"
TORCH_FLOAT32 = "torch float32 channels_first"
ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# One configuration, in the child process.


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (2**20 bytes).

    Reads `VmHWM` from /proc/self/status; where /proc is absent, falls back to
    `resource.getrusage(RUSAGE_SELF).ru_maxrss` (kB on Linux, bytes on macOS).

    Returns:
        float, MB.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def build_model(args, policy, network="kerashg"):
    """The network under the dtype policy `policy`.

    Args:
        args: parsed options (`model`, `stacks`, `filters`, `input_size`).
        policy: Keras dtype policy name.
        network: "kerashg" (the kerashg model class) or "twin" (the same
            Stacked Hourglass from stock Keras layers, `benchmarks.keras_twin`).

    Returns:
        A `keras.Model` whose output is `{"heatmaps": (B, S, H/4, W/4, K)}`.
    """
    import keras

    keras.config.set_dtype_policy(policy)
    try:
        if network == "twin":
            from benchmarks.keras_twin import build_twin

            return build_twin(
                args.stacks,
                NUM_KEYPOINTS,
                args.filters,
                DEPTH,
                (args.input_size, args.input_size, 3),
            )
        return getattr(kerashg, MODELS[args.model])(
            num_stacks=args.stacks,
            num_keypoints=NUM_KEYPOINTS,
            filters=args.filters,
            depth=DEPTH,
            input_shape=(args.input_size, args.input_size, 3),
        )
    finally:
        keras.config.set_dtype_policy("float32")


def conv_flops(model, input_size):
    """FLOPs (2 × MACs) per image of every Conv2D in the traced forward graph."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False))
    graph = forward.get_concrete_function(
        tf.TensorSpec((1, input_size, input_size, 3), tf.float32)
    ).graph
    total = 0
    for op in graph.get_operations():
        if op.type == "Conv2D":
            output = op.outputs[0].shape
            kernel = op.inputs[1].shape
            total += 2 * output[1] * output[2] * output[3] * kernel[0] * kernel[1] * kernel[2]
    return total


def time_calls(fn, warmup, steps, batch_size, block=None):
    """Images/s of `fn` (one batch per call) over `steps` calls after `warmup` ones.

    `block(result)` waits for a call's result before the next one; default: Keras
    tensors fetched to NumPy. PyTorch's CPU eager calls return finished tensors.
    """
    block = _block if block is None else block
    for _ in range(warmup):
        block(fn())
    start = time.perf_counter()
    for _ in range(steps):
        block(fn())
    return batch_size * steps / (time.perf_counter() - start)


def _block(result):
    import keras

    return keras.tree.map_structure(lambda t: t.numpy(), result)


def make_keras_optimizer(name, learning_rate=LEARNING_RATE, policy="float32"):
    """The Keras twin of `benchmarks.torch_hourglass.make_optimizer`.

    RMSprop with PyTorch's constants (rho 0.99, epsilon 1e-8) or Adam
    (epsilon 1e-8, as PyTorch's). Keras' RMSprop divides by sqrt(v + eps),
    PyTorch's by sqrt(v) + eps: the updates differ only for gradients near
    sqrt(eps), and the cost is the same, so the speed comparison is fair.

    Args:
        name: "rmsprop" or "adam".
        learning_rate: float.
        policy: the dtype policy; mixed_float16 wraps the optimizer in a
            `LossScaleOptimizer`.

    Returns:
        A built-on-first-use `keras.optimizers.Optimizer`.
    """
    import keras

    if name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate, rho=0.99, epsilon=1e-8)
    elif name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    else:
        raise InputError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}. Received: {name}")
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def benchmark_keras(args, policy, jit_compile, network="kerashg"):
    """Forward and train-step images/s of one Keras configuration, and the peak memory.

    Args:
        args: parsed options (network, batch, `steps`, `warmup`, `optimizer`).
        policy: Keras dtype policy name.
        jit_compile: bool, XLA-compile both steps.
        network: "kerashg" or "twin" (`build_model`).

    Returns:
        Dict with `params`, `flops` (per image, forward), `forward` and
        `train` (images/s), `rss_mb` (this process's peak resident memory
        after the timings, MB) and the settings.
    """
    import keras
    import tensorflow as tf

    model = build_model(args, policy, network)
    rng = np.random.default_rng(0)
    heatmap_size = args.input_size // 4
    images = tf.constant(
        rng.random((args.batch_size, args.input_size, args.input_size, 3)), tf.float32
    )
    # One target per stage: every stage's heatmaps are supervised, as in PyTorch.
    targets = tf.constant(
        rng.random((args.batch_size, args.stacks, heatmap_size, heatmap_size, NUM_KEYPOINTS)),
        tf.float32,
    )
    optimizer = make_keras_optimizer(args.optimizer, LEARNING_RATE, policy)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile)
    def forward(x):
        return model(x, training=False)["heatmaps"]

    @tf.function(jit_compile=jit_compile)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            heatmaps = model(x, training=True)["heatmaps"]
            loss = keras.ops.mean(keras.ops.square(heatmaps - y))
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    result = {
        "framework": "keras",
        "network": network,
        "precision": policy,
        "jit_compile": bool(jit_compile),
        "optimizer": args.optimizer,
        "params": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        "forward": time_calls(lambda: forward(images), args.warmup, args.steps, args.batch_size),
        "train": time_calls(
            lambda: train_step(images, targets), args.warmup, args.steps, args.batch_size
        ),
    }
    result["rss_mb"] = peak_rss_mb()
    # Counted after the memory reading: the extra trace is not part of training.
    result["flops"] = conv_flops(model, args.input_size)
    return result


def _run_child(args):
    """`--child keras|twin`: one Keras configuration; prints one JSON line."""
    import tensorflow as tf

    if len(args.precision) != 1 or args.jit_compile == "both":
        raise InputError("--child runs one configuration: one --precision, --jit-compile off|on")
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    network = "twin" if args.child == "twin" else "kerashg"
    result = benchmark_keras(args, args.precision[0], args.jit_compile == "on", network)
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------
# The parent: every configuration in its own subprocess, in rounds.


@dataclasses.dataclass(frozen=True)
class Config:
    """One measured configuration.

    Attributes:
        name: column name, e.g. "keras float32 xla", "torch float32 channels_last".
        framework: "keras" or "torch".
        network: "kerashg", "twin" (Keras) or "torch".
        precision: Keras dtype policy, or "float32" / "bfloat16" (PyTorch).
        jit_compile: XLA (Keras only).
        layout: "channels_first" / "channels_last" (PyTorch only), else None.
    """

    name: str
    framework: str
    network: str
    precision: str
    jit_compile: bool = False
    layout: str | None = None


def plan(args) -> list[Config]:
    """The configurations of one round, Keras, PyTorch and twin ones interleaved.

    Args:
        args: parsed options (`precision`, `jit_compile`, `torch`, `twin`).

    Returns:
        List of `Config`, in the order a round runs them.
    """
    jit_modes = {"off": [False], "on": [True], "both": [False, True]}[args.jit_compile]
    keras_runs, twin_runs, torch_runs = [], [], []
    for policy in args.precision:
        for jit_compile in jit_modes:
            suffix = f"{policy}" + (" xla" if jit_compile else "")
            keras_runs.append(Config(f"keras {suffix}", "keras", "kerashg", policy, jit_compile))
            if args.twin:
                twin_runs.append(Config(f"twin {suffix}", "keras", "twin", policy, jit_compile))
    if args.torch:
        torch_settings = [("float32", "channels_first"), ("float32", "channels_last")]
        if "mixed_bfloat16" in args.precision:
            torch_settings.append(("bfloat16", "channels_last"))
        for precision, layout in torch_settings:
            name = f"torch {precision} {layout}"
            torch_runs.append(Config(name, "torch", "torch", precision, layout=layout))
    ordered = []
    for i in range(max(len(keras_runs), len(twin_runs), len(torch_runs))):
        for runs in (keras_runs, torch_runs, twin_runs):
            if i < len(runs):
                ordered.append(runs[i])
    return ordered


def child_command(args, config: Config) -> list[str]:
    """The command line that measures `config` in a fresh Python process."""
    shared = [
        f"--model={args.model}",
        f"--stacks={args.stacks}",
        f"--filters={args.filters}",
        f"--input-size={args.input_size}",
        f"--batch-size={args.batch_size}",
        f"--steps={args.steps}",
        f"--warmup={args.warmup}",
        f"--threads={args.threads}",
        f"--optimizer={args.optimizer}",
        f"--precision={config.precision}",
    ]
    if config.framework == "torch":
        return [
            sys.executable,
            "-m",
            "benchmarks.torch_hourglass",
            *shared,
            f"--layout={config.layout}",
        ]
    return [
        sys.executable,
        "-m",
        "benchmarks.model",
        f"--child={'twin' if config.network == 'twin' else 'keras'}",
        *shared,
        f"--inter-op-threads={args.inter_op_threads}",
        f"--jit-compile={'on' if config.jit_compile else 'off'}",
    ]


def run_child(args, config: Config):
    """Measures `config` in a subprocess.

    Returns:
        The child's result dict (its last stdout line), or None when it failed
        (its stderr's end is printed).
    """
    command = child_command(args, config)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=ROOT, env=env
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        print(
            f"warning: {config.name} failed ({' '.join(command)}):\n{completed.stderr[-2000:]}",
            file=sys.stderr,
        )
        return None
    return json.loads(lines[-1])


def run(args, runner=None):
    """Runs every configuration `args.rounds` times, a whole round at a time.

    Args:
        args: parsed options.
        runner: `(args, config) -> result dict or None`; None: `run_child`,
            which measures in a subprocess.

    Returns:
        Dict configuration name → list of the rounds' results (None where a
        run failed), in `plan` order.
    """
    runner = run_child if runner is None else runner
    configs = plan(args)
    results = {config.name: [] for config in configs}
    for round_index in range(args.rounds):
        for config in configs:
            result = runner(args, config)
            results[config.name].append(result)
            if result is not None:
                print(
                    f"  round {round_index + 1}/{args.rounds} {config.name}: "
                    f"train {result['train']:.2f} img/s, fwd {result['forward']:.2f} img/s, "
                    f"peak RSS {result['rss_mb']:.0f} MB",
                    flush=True,
                )
    return results


def summarize(results):
    """Per configuration: the median and min–max of its rounds, the max of its peak RSS.

    Args:
        results: dict name → list of round results (dicts or None), as `run`
            returns.

    Returns:
        Dict name → summary dict: the first run's settings, `params` and
        `flops`, `forward`/`train` (medians), `forward_min`/`forward_max`,
        `train_min`/`train_max`, `rss_mb` (max), `rounds` (successful runs)
        and `runs` (the raw results). Configurations without a successful run
        are left out.
    """
    summary = {}
    for name, runs in results.items():
        done = [run for run in runs if run is not None]
        if not done:
            continue
        entry = dict(done[0])
        for key in ("forward", "train"):
            values = [run[key] for run in done]
            entry[key] = statistics.median(values)
            entry[f"{key}_min"], entry[f"{key}_max"] = min(values), max(values)
        entry["rss_mb"] = max(run["rss_mb"] for run in done)
        entry["rounds"] = len(done)
        entry["runs"] = done
        summary[name] = entry
    return summary


def check_torch_batch(batch_size, input_size):
    """Refuses a batch PyTorch cannot train: its BatchNorm needs more than one value
    per channel, and the hourglass's bottom is `input_size / 64` pixels wide.

    Raises:
        InputError: when `batch_size * (input_size / 64) ** 2 < 2`.
    """
    bottom = input_size // 2 ** (DEPTH + 2)
    if batch_size * bottom * bottom < 2:
        raise InputError(
            f"PyTorch's BatchNorm needs more than one value per channel in training: "
            f"--batch-size {batch_size} at --input-size {input_size} leaves one at the "
            f"hourglass's {bottom}x{bottom} bottom (use --batch-size 2 or a larger input)"
        )


def _short(name):
    """ "keras float32 xla" → "float32 xla"."""
    return name.split(" ", 1)[1]


def ratios(summary):
    """Issue 11's ratios, from the medians (None where a configuration is missing).

    Args:
        summary: as `summarize` returns.

    Returns:
        Dict with `train_float32`, `train_best` and `rss_training` (each a
        dict of the two figures, the names, `ratio` and `goal`, or None) and
        `twin` (list of kerashg / stock-Keras twin training ratios).
    """
    keras_fp32, torch_fp32 = summary.get(KERAS_FLOAT32), summary.get(TORCH_FLOAT32)
    keras_names = [
        n for n, s in summary.items() if s["framework"] == "keras" and s["network"] == "kerashg"
    ]
    torch_names = [n for n, s in summary.items() if s["framework"] == "torch"]
    out = {"train_float32": None, "train_best": None, "rss_training": None, "twin": []}
    if keras_fp32 and torch_fp32:
        out["train_float32"] = {
            "keras": keras_fp32["train"],
            "torch": torch_fp32["train"],
            "ratio": keras_fp32["train"] / torch_fp32["train"],
            "goal": GOAL_TRAIN_FLOAT32,
        }
        out["rss_training"] = {
            "keras": keras_fp32["rss_mb"],
            "torch": torch_fp32["rss_mb"],
            "ratio": keras_fp32["rss_mb"] / torch_fp32["rss_mb"],
            "goal": GOAL_RSS,
        }
    if keras_names and torch_names:
        best_keras = max(keras_names, key=lambda n: summary[n]["train"])
        best_torch = max(torch_names, key=lambda n: summary[n]["train"])
        out["train_best"] = {
            "keras_name": _short(best_keras),
            "keras": summary[best_keras]["train"],
            "torch_name": _short(best_torch),
            "torch": summary[best_torch]["train"],
            "ratio": summary[best_keras]["train"] / summary[best_torch]["train"],
            "goal": GOAL_TRAIN_BEST,
        }
    for name in keras_names:
        twin = "twin " + _short(name)
        if twin in summary:
            out["twin"].append(
                {
                    "keras_name": name,
                    "keras": summary[name]["train"],
                    "twin_name": twin,
                    "twin": summary[twin]["train"],
                    "ratio": summary[name]["train"] / summary[twin]["train"],
                }
            )
    return out


def ratio_lines(figures):
    """The final block: three lines, as a note quotes them.

    Args:
        figures: as `ratios` returns.

    Returns:
        List of three strings (a missing comparison reads "n/a" and says why).
    """
    fp32, best, rss = figures["train_float32"], figures["train_best"], figures["rss_training"]
    missing = f"n/a (needs '{KERAS_FLOAT32}' and '{TORCH_FLOAT32}': --precision float32 --torch)"
    lines = []
    if fp32:
        lines.append(
            f"train float32: keras {fp32['keras']:.2f} img/s / torch eager float32 "
            f"{fp32['torch']:.2f} img/s = {fp32['ratio']:.2f}×  (goal ≥ {fp32['goal']}×)"
        )
    else:
        lines.append(f"train float32: {missing}  (goal ≥ {GOAL_TRAIN_FLOAT32}×)")
    if best:
        lines.append(
            f"train best: keras ({best['keras_name']}) {best['keras']:.2f} / "
            f"torch ({best['torch_name']}) {best['torch']:.2f} = {best['ratio']:.2f}×  "
            f"(goal ≥ {best['goal']}×)"
        )
    else:
        lines.append(
            f"train best: n/a (needs a keras and a torch configuration: --torch)  "
            f"(goal ≥ {GOAL_TRAIN_BEST}×)"
        )
    if rss:
        lines.append(
            f"peak RSS training: keras float32 {rss['keras']:.0f} MB / torch eager float32 "
            f"{rss['torch']:.0f} MB = {rss['ratio']:.2f}×  (goal ≤ {rss['goal']}×)"
        )
    else:
        lines.append(f"peak RSS training: {missing}  (goal ≤ {GOAL_RSS}×)")
    return lines


def report(args, summary):
    """Prints the table and the ratio lines; returns `ratios(summary)`.

    Args:
        args: parsed options (for the heading).
        summary: as `summarize` returns.

    Returns:
        The ratios dict (`ratios`).
    """
    names = list(summary)
    figures = ratios(summary)
    print(
        f"\n{args.model}: {args.stacks} stacks, {args.filters} filters, "
        f"{args.input_size}x{args.input_size}, batch {args.batch_size}, {args.steps} steps "
        f"after {args.warmup} warm-up, {args.rounds} rounds (median, min-max), "
        f"optimizer {args.optimizer} lr {LEARNING_RATE}, {args.threads} intra-op threads, "
        f"{args.inter_op_threads} inter-op (TF)"
    )
    if not names:
        print("no configuration ran")
    else:
        flops = next((s["flops"] for s in summary.values() if "flops" in s), None)
        if flops is not None:
            print(f"FLOPs per image (forward, conv layers): {flops / 1e9:.2f} GFLOPs")
        width = max(22, *(len(name) + 2 for name in names))
        rows = [
            ("params", lambda s: f"{s['params']:,}"),
            ("fwd img/s", lambda s: f"{s['forward']:.3f}"),
            ("fwd min-max", lambda s: f"{s['forward_min']:.2f}-{s['forward_max']:.2f}"),
            ("train img/s", lambda s: f"{s['train']:.3f}"),
            ("train min-max", lambda s: f"{s['train_min']:.2f}-{s['train_max']:.2f}"),
        ]
        if flops is not None:
            rows.append(("train GFLOP/s", lambda s: f"{3 * flops * s['train'] / 1e9:.1f}"))
        rows += [
            ("peak RSS MB", lambda s: f"{s['rss_mb']:.0f}"),
            ("rounds", lambda s: f"{s['rounds']}"),
        ]
        print(f"{'':<14}" + "".join(f"{name:>{width}}" for name in names))
        for label, cell in rows:
            print(f"{label:<14}" + "".join(f"{cell(summary[name]):>{width}}" for name in names))
    print()
    for twin in figures["twin"]:
        print(
            f"layer structure: {twin['keras_name']} {twin['keras']:.2f} img/s / "
            f"{twin['twin_name']} (stock Keras layers) {twin['twin']:.2f} img/s = "
            f"{twin['ratio']:.2f}× (train)"
        )
    for line in ratio_lines(figures):
        print(line)
    return figures


# ---------------------------------------------------------------------------
# Command line.


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, timing and optimizer options `benchmarks.model` and
    `benchmarks.torch_hourglass` share, so that both time the same step by default."""
    parser.add_argument("--model", choices=sorted(MODELS), default="hourglass", help="network")
    parser.add_argument("--stacks", type=int, default=2, help="number of stacks")
    parser.add_argument("--filters", type=int, default=256, help="hourglass channels")
    parser.add_argument(
        "--input-size", type=int, default=256, help="input side in pixels (multiple of 64)"
    )
    parser.add_argument("--batch-size", type=int, default=4, help="images per call")
    parser.add_argument("--steps", type=int, default=10, help="timed calls")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first")
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="rmsprop",
        help=f"optimizer of the training step, lr {LEARNING_RATE} (same constants in both "
        "frameworks)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m benchmarks.model`."""
    parser = cli.parser("python -m benchmarks.model", __doc__)
    add_network_arguments(parser)
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["float32", "mixed_bfloat16"],
        choices=["float32", "mixed_bfloat16", "mixed_float16"],
        metavar="POLICY",
        help="Keras dtype policies (float32, mixed_bfloat16, mixed_float16), one column each",
    )
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="intra-op threads (TF and PyTorch)"
    )
    parser.add_argument(
        "--inter-op-threads",
        type=int,
        default=1,
        help="TensorFlow inter-op threads (1: ops run one at a time, like eager PyTorch)",
    )
    parser.add_argument(
        "--jit-compile",
        nargs="?",
        const="on",
        default="off",
        choices=["off", "on", "both"],
        help="XLA-compile the Keras steps: off, on (bare flag) or both (one column each)",
    )
    parser.add_argument("--torch", action="store_true", help="also run the PyTorch reference")
    parser.add_argument(
        "--twin",
        action="store_true",
        help="also time the same hourglass built from stock Keras layers (benchmarks.keras_twin)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times the whole list of configurations runs, in alternation (median reported)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object with every result last"
    )
    parser.add_argument(
        "--child",
        choices=["keras", "twin"],
        default=None,
        help="internal: measure one Keras configuration (one --precision) in this process "
        "and print one JSON line; the parent runs every configuration this way",
    )
    return parser


def _command(args: argparse.Namespace) -> None:
    cli.check_positive(
        args, "stacks", "filters", "input_size", "batch_size", "steps", "threads", "rounds"
    )
    if args.warmup < 0 or args.inter_op_threads < 0:
        raise InputError("--warmup and --inter-op-threads must be >= 0")
    if args.input_size % 2 ** (DEPTH + 2):
        raise InputError(
            f"--input-size must be a multiple of {2 ** (DEPTH + 2)}. Received: {args.input_size}"
        )
    if (args.twin or args.child == "twin") and args.model != "hourglass":
        raise InputError("--twin mirrors the Stacked Hourglass only: use --model hourglass")
    if args.child is not None:
        _run_child(args)
        return
    if args.torch:
        if importlib.util.find_spec("torch") is None:
            raise InputError(
                "--torch needs PyTorch (pip install torch); it is only needed for this benchmark"
            )
        check_torch_batch(args.batch_size, args.input_size)
    summary = summarize(run(args))
    figures = report(args, summary)
    if args.json:
        settings = {key: value for key, value in vars(args).items() if key != "child"}
        output = {
            "settings": {**settings, "learning_rate": LEARNING_RATE},
            "results": summary,
            "ratios": figures,
        }
        print(json.dumps(output))


def main(argv=None) -> None:
    """Entry point of `python -m benchmarks.model` (bad input: one `error:` line, exit 2)."""
    cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    main()
