"""Model throughput benchmark: forward and training-step images/s, FLOPs per image.

    python -m benchmarks.model [--model acnn|hourglass] [--stacks 2] [--filters 256]
        [--input-size 256] [--batch-size 4] [--steps N]
        [--precision float32 mixed_bfloat16 ...] [--jit-compile [off|on|both]] [--torch]

For each Keras dtype policy the model is built, a forward pass
(`training=False`) and a training step (MSE on every stage's heatmaps, Adam,
a loss-scale optimizer under mixed_float16) are compiled with `tf.function`,
run `--warmup` times, then timed over `--steps` calls (`--jit-compile both`
adds an XLA-compiled column per precision). With `--torch` the same
network in plain PyTorch (`benchmarks/torch_hourglass.py`, eager, float32,
channels_last and channels_first, plus bfloat16 autocast when mixed_bfloat16 is
asked for) runs in a subprocess with the same thread count, and the ratios
Keras / PyTorch are printed. FLOPs are counted analytically from the
Conv2D ops of the traced forward graph (2 × multiply-adds; BN, ReLU, pooling
and additions, a few percent, are left out).
"""

import argparse
import json
import os
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


def build_model(args, policy):
    import keras

    keras.config.set_dtype_policy(policy)
    try:
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


def time_calls(fn, warmup, steps, batch_size):
    for _ in range(warmup):
        _block(fn())
    start = time.perf_counter()
    for _ in range(steps):
        _block(fn())
    return batch_size * steps / (time.perf_counter() - start)


def _block(result):
    import keras

    return keras.tree.map_structure(lambda t: t.numpy(), result)


def benchmark_keras(args, policy, jit_compile):
    """Forward and train-step images/s of the Keras model under `policy`."""
    import keras
    import tensorflow as tf

    model = build_model(args, policy)
    rng = np.random.default_rng(0)
    heatmap_size = args.input_size // 4
    images = tf.constant(
        rng.random((args.batch_size, args.input_size, args.input_size, 3)), tf.float32
    )
    targets = tf.constant(
        rng.random((args.batch_size, 1, heatmap_size, heatmap_size, NUM_KEYPOINTS)), tf.float32
    )
    optimizer = keras.optimizers.Adam(1e-4)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
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
        "params": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        "flops": conv_flops(model, args.input_size),
        "forward": time_calls(lambda: forward(images), args.warmup, args.steps, args.batch_size),
        "train": time_calls(
            lambda: train_step(images, targets), args.warmup, args.steps, args.batch_size
        ),
    }
    return result


def benchmark_torch(args, precision, layout):
    """Run benchmarks/torch_hourglass.py in a subprocess (None if torch is missing)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.torch_hourglass",
        f"--model={args.model}",
        f"--stacks={args.stacks}",
        f"--filters={args.filters}",
        f"--input-size={args.input_size}",
        f"--batch-size={args.batch_size}",
        f"--steps={args.steps}",
        f"--warmup={args.warmup}",
        f"--threads={args.threads}",
        f"--precision={precision}",
        f"--layout={layout}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        print(f"PyTorch benchmark failed ({' '.join(command)}):\n{completed.stderr[-2000:]}")
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(args):
    """Benchmark every requested precision; return {column name: result dict}."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    results = {}
    jit_modes = {"off": [False], "on": [True], "both": [False, True]}[args.jit_compile]
    for policy in args.precision:
        for jit_compile in jit_modes:
            name = f"keras {policy}" + (" xla" if jit_compile else "")
            results[name] = benchmark_keras(args, policy, jit_compile)
            print(f"  done: {name}", flush=True)
    if args.torch:
        torch_runs = [("float32", "channels_last"), ("float32", "channels_first")]
        if "mixed_bfloat16" in args.precision:
            torch_runs.append(("bfloat16", "channels_last"))
        for precision, layout in torch_runs:
            result = benchmark_torch(args, precision, layout)
            if result is not None:
                results[f"torch {precision} {layout}"] = result
                print(f"  done: torch {precision} {layout}", flush=True)
    return results


def report(args, results):
    names = list(results)
    width = max(22, *(len(name) + 2 for name in names))
    flops = next(r["flops"] for r in results.values() if "flops" in r)
    print(
        f"\n{args.model}: {args.stacks} stacks, {args.filters} filters, "
        f"{args.input_size}x{args.input_size}, batch {args.batch_size}, {args.steps} steps, "
        f"{args.threads} intra-op threads, {args.inter_op_threads} inter-op (TF)"
    )
    print(f"FLOPs per image (forward, conv layers): {flops / 1e9:.2f} GFLOPs")
    print(f"{'':<12}" + "".join(f"{name:>{width}}" for name in names))
    for key, label in (("params", "params"), ("forward", "fwd img/s"), ("train", "train img/s")):
        cells = []
        for name in names:
            value = results[name][key]
            cells.append(f"{value:>{width},}" if key == "params" else f"{value:>{width}.3f}")
        print(f"{label:<12}" + "".join(cells))
    print(
        f"{'train GFLOP/s':<12}"
        + "".join(f"{3 * flops * results[name]['train'] / 1e9:>{width}.1f}" for name in names)
    )
    torch_names = [name for name in names if name.startswith("torch")]
    keras_names = [name for name in names if name.startswith("keras")]
    if torch_names:
        torch_fp32 = results.get("torch float32 channels_last")
        for key in ("forward", "train"):
            best_torch = max(torch_names, key=lambda n: results[n][key])
            best_keras = max(keras_names, key=lambda n: results[n][key])
            for name in ("keras float32", "keras float32 xla"):
                if torch_fp32 is not None and name in results:
                    ratio = results[name][key] / torch_fp32[key]
                    print(f"{key}: {name} / torch float32 channels_last = {ratio:.2f}x")
            ratio = results[best_keras][key] / results[best_torch][key]
            print(
                f"{key}: fastest keras ({best_keras}) / fastest torch ({best_torch}) = {ratio:.2f}x"
            )


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """The network and timing options `benchmarks.model` and `benchmarks.torch_hourglass`
    share, so that both time the same network by default."""
    parser.add_argument("--model", choices=sorted(MODELS), default="hourglass", help="network")
    parser.add_argument("--stacks", type=int, default=2, help="number of stacks")
    parser.add_argument("--filters", type=int, default=256, help="hourglass channels")
    parser.add_argument(
        "--input-size", type=int, default=256, help="input side in pixels (multiple of 64)"
    )
    parser.add_argument("--batch-size", type=int, default=4, help="images per call")
    parser.add_argument("--steps", type=int, default=10, help="timed calls")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first")


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
    return parser


def _command(args: argparse.Namespace) -> None:
    cli.check_positive(args, "stacks", "filters", "input_size", "batch_size", "steps", "threads")
    if args.warmup < 0 or args.inter_op_threads < 0:
        raise InputError("--warmup and --inter-op-threads must be >= 0")
    if args.input_size % 2 ** (DEPTH + 2):
        raise InputError(
            f"--input-size must be a multiple of {2 ** (DEPTH + 2)}. Received: {args.input_size}"
        )
    report(args, run(args))


def main(argv=None) -> None:
    """Entry point of `python -m benchmarks.model` (bad input: one `error:` line, exit 2)."""
    cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    main()
