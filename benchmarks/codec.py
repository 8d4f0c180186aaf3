"""How much of inference is heatmap decoding? `python -m benchmarks.codec`.

Times, in one run on the same machine:
  - `HeatmapCodec.decode` (TensorFlow ops, inside a `tf.function`),
  - `HeatmapCodec.decode_numpy`,
on a batch of 64 heatmaps of 64×64×16, and side by side a forward pass of
`kerashg.StackedHourglass` (default 2 stacks, 256 filters, 256×256 input), run
at a smaller batch and scaled linearly to 64 to keep CPU time modest. Prints
the median milliseconds per 64 people and the ratios forward / decode.

    python -m benchmarks.codec [--model-batch 4] [--repeats 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

import kerashg  # no TensorFlow until a model or codec is used
from export.verify import median_latency_ms
from kerashg import cli
from kerashg.errors import InputError

BATCH = 64
HEATMAP = 64
KEYPOINTS = 16


def make_heatmaps(codec: kerashg.HeatmapCodec, seed: int = 0) -> np.ndarray:
    """(64, 64, 64, 16) float32 Gaussian targets plus a little noise, like a model's output."""
    rng = np.random.default_rng(seed)
    width, height = codec.input_size
    keypoints = np.concatenate(
        [
            rng.uniform(8, width - 8, (BATCH, KEYPOINTS, 1)),
            rng.uniform(8, height - 8, (BATCH, KEYPOINTS, 1)),
            np.full((BATCH, KEYPOINTS, 1), 2.0),
        ],
        axis=-1,
    )
    heatmaps, _ = codec.encode(keypoints.astype(np.float32))
    noise = rng.normal(0, 0.01, heatmaps.shape).astype(np.float32)
    return heatmaps.numpy() + noise


def run(
    model_batch: int = 4,
    repeats: int = 20,
    model_repeats: int = 3,
    num_stacks: int = 2,
    filters: int = 256,
    input_size: int = 256,
) -> dict:
    """Runs the benchmark and returns the figures (ms per 64 people and ratios)."""
    import keras
    import tensorflow as tf

    codec = kerashg.HeatmapCodec(input_size=input_size, heatmap_size=HEATMAP)
    heatmaps = make_heatmaps(codec)
    heatmaps_tf = tf.constant(heatmaps)
    decode_tf = tf.function(codec.decode)

    tf_result = decode_tf(heatmaps_tf).numpy()
    np_result = codec.decode_numpy(heatmaps)
    max_diff = float(np.abs(tf_result - np_result).max())

    decode_tf_ms = median_latency_ms(lambda: decode_tf(heatmaps_tf).numpy(), warmup=2, runs=repeats)
    decode_np_ms = median_latency_ms(lambda: codec.decode_numpy(heatmaps), warmup=2, runs=repeats)

    model = kerashg.StackedHourglass(
        num_stacks=num_stacks,
        num_keypoints=KEYPOINTS,
        filters=filters,
        input_shape=(input_size, input_size, 3),
    )
    images = tf.constant(
        np.random.default_rng(1).uniform(0, 1, (model_batch, input_size, input_size, 3)),
        tf.float32,
    )
    forward = tf.function(lambda x: model(x, training=False)["heatmaps"][:, -1])
    forward_ms = median_latency_ms(lambda: forward(images).numpy(), warmup=1, runs=model_repeats)
    forward_64_ms = forward_ms * BATCH / model_batch

    return {
        "heatmaps_shape": list(heatmaps.shape),
        "decode_tf_ms": decode_tf_ms,
        "decode_numpy_ms": decode_np_ms,
        "decode_tf_vs_numpy_max_abs_diff_px": max_diff,
        "model": f"StackedHourglass(num_stacks={num_stacks}, filters={filters}, "
        f"input {input_size}x{input_size})",
        "model_params": int(model.count_params()),
        "model_batch": model_batch,
        "forward_ms_at_model_batch": forward_ms,
        "forward_ms_per_64": forward_64_ms,
        "forward_over_decode_tf": forward_64_ms / decode_tf_ms,
        "forward_over_decode_numpy": forward_64_ms / decode_np_ms,
        "cpu_threads": os.cpu_count(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }


def format_report(figures: dict) -> str:
    """Human-readable lines of `run`'s figures."""
    f = figures
    return "\n".join(
        [
            f"heatmaps {tuple(f['heatmaps_shape'])}, {f['cpu_threads']} CPU threads, "
            f"TF {f['tensorflow']}, Keras {f['keras']}",
            f"  decode (tf.function)   {f['decode_tf_ms']:9.2f} ms / 64",
            f"  decode_numpy           {f['decode_numpy_ms']:9.2f} ms / 64",
            f"  TF vs NumPy max |diff| {f['decode_tf_vs_numpy_max_abs_diff_px']:9.2g} (px or score)",
            f"{f['model']}, {f['model_params']:,} parameters",
            f"  forward, batch {f['model_batch']:<3}     {f['forward_ms_at_model_batch']:9.1f} ms",
            f"  forward, scaled to 64  {f['forward_ms_per_64']:9.1f} ms / 64",
            f"  forward / decode (tf.function) = {f['forward_over_decode_tf']:.0f}x",
            f"  forward / decode_numpy         = {f['forward_over_decode_numpy']:.0f}x",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m benchmarks.codec`."""
    parser = cli.parser("python -m benchmarks.codec", __doc__)
    parser.add_argument(
        "--model-batch", type=int, default=4, help="forward-pass batch (scaled to 64)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed decode calls")
    parser.add_argument("--model-repeats", type=int, default=3, help="timed forward passes")
    parser.add_argument("--stacks", type=int, default=2, help="stacks of the hourglass")
    parser.add_argument("--filters", type=int, default=256, help="channels of the hourglass")
    parser.add_argument(
        "--input-size", type=int, default=256, help="model input side in pixels (multiple of 64)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _command(args: argparse.Namespace) -> int:
    cli.check_positive(
        args, "model_batch", "repeats", "model_repeats", "stacks", "filters", "input_size"
    )
    if args.input_size % 64:
        raise InputError(f"--input-size must be a multiple of 64. Received: {args.input_size}")
    figures = run(
        model_batch=args.model_batch,
        repeats=args.repeats,
        model_repeats=args.model_repeats,
        num_stacks=args.stacks,
        filters=args.filters,
        input_size=args.input_size,
    )
    print(json.dumps(figures) if args.json else format_report(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m benchmarks.codec`; returns the exit status."""
    return cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
