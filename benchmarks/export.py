"""Export formats side by side: latency, size and the int8 accuracy drop. `python -m benchmarks.export`.

Two parts, in one run on the same machine:

1. `latency`: a 2-stack StackedHourglass at 256×256 with 256 filters (depth 4,
   16 joints, random weights: speed does not depend on them) exported to
   SavedModel, TFLite float32 / float16 / int8 and ONNX; for each, and for the
   Keras model itself, the file size and the median single-image latency
   (`heatmaps`, batch 1, 2 threads). Goals: TFLite float32 no slower than the
   TensorFlow graph (SavedModel); TFLite int8 at most half the float32 latency
   and a quarter of its size.
2. `accuracy`: a small StackedHourglass trained for a few minutes on the
   synthetic renderer, exported to TFLite float32 / float16 / int8 (each int8
   recipe), and PCKh@0.5 (and PCK at one heatmap pixel) of each on held-out
   synthetic people: the drop of each quantised model from float32.

    python -m benchmarks.export [--part latency accuracy] [--steps 600] [--json OUT]
        [--trained-model small.keras]

TensorFlow's own thread pools are process-wide; LiteRT and onnxruntime get
`--threads` (2) explicitly.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import export  # noqa: E402
import kerashg  # noqa: E402
from export.verify import format_report, median_latency_ms  # noqa: E402
from kerashg import metrics, transforms  # noqa: E402
from kerashg.predict import load_runner  # noqa: E402


def _threads(n: int) -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised
        pass


# ------------------------------------------------------------------ latency
def latency_part(threads: int, runs: int, work: pathlib.Path, log=print) -> list[dict]:
    """Sizes and single-image latencies of every format for the 2-stack 256 model."""
    model = kerashg.StackedHourglass(
        num_stacks=2, num_keypoints=16, filters=256, depth=4, input_shape=(256, 256, 3)
    )
    keras_path = work / "hg2_256.keras"
    model.save(keras_path)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=(8, 256, 256, 3)).astype(np.float32)
    # Random weights and noise images: outputs are meaningless, so skip the
    # parity gate (tolerance None/0) and record the numbers only.
    report = export.export_model(
        model,
        work / "latency",
        formats=("savedmodel", "tflite", "onnx"),
        quantize=("float16", "int8"),
        calibration_data=images,
        num_verify=2,
        num_threads=threads,
        latency_runs=runs,
        stem="hg2_256",
        log=log,
        verify_gate=False,
    )
    entries = report["artifacts"]
    entries[0]["size_bytes"] = keras_path.stat().st_size
    return entries


# ----------------------------------------------------------------- accuracy
def synthetic_people(count: int, size: int, start: int, seed: int = 0):
    """Crops of synthetic people: images float32 (N, S, S, 3), keypoints (N, K, 3) and
    head sizes (N,) in crop pixels."""
    from training.datasets.synthetic import render_sample

    images, keypoints, heads = [], [], []
    for index in range(start, start + count):
        sample = render_sample(index, seed=seed, image_size=size)
        matrix = transforms.get_affine_transform(sample["center"], sample["scale"], 0.0, size)
        crop = transforms.crop_image(sample["image"], sample["center"], sample["scale"], 0.0, size)
        points = sample["keypoints"].copy()
        points[:, :2] = transforms.transform_points(points[:, :2], matrix)
        points[points[:, 2] == 0, :2] = 0.0
        images.append(crop.astype(np.float32) / 255.0)
        keypoints.append(points.astype(np.float32))
        heads.append(sample["head_size"] * size / (sample["scale"] * transforms.PIXEL_STD))
    return np.stack(images), np.stack(keypoints), np.asarray(heads, np.float32)


def train_small_model(size: int, steps: int, batch: int, num_train: int, log=print):
    """A 2-stack, depth-3, 64-filter StackedHourglass trained on synthetic people."""
    model = kerashg.StackedHourglass(
        num_stacks=2, num_keypoints=16, filters=64, depth=3, input_shape=(size, size, 3)
    )
    codec = kerashg.HeatmapCodec(input_size=size, sigma=1.0)
    start = time.perf_counter()
    images, keypoints, _ = synthetic_people(num_train, size, start=0)
    log(f"rendered {num_train} training people in {time.perf_counter() - start:.0f} s")
    targets, weights = codec.encode(keypoints)
    targets = targets.numpy()
    weights = weights.numpy()
    optimizer = keras.optimizers.Adam(learning_rate=2.5e-4 * 4)

    @tf.function
    def step(x, y, w):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True)["heatmaps"]  # (B, S, h, w, K)
            error = tf.square(predictions - y[:, None]) * w[:, None, None, None, :]
            loss = tf.reduce_mean(error) * 1000.0
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(steps):
        idx = rng.integers(0, num_train, batch)
        loss = step(images[idx], targets[idx], weights[idx])
        if (i + 1) % 100 == 0 or i == 0:
            log(
                f"step {i + 1}/{steps} loss {float(loss):.4f} ({time.perf_counter() - start:.0f} s)"
            )
    return model


def accuracy_part(threads: int, steps: int, work: pathlib.Path, size: int = 128, log=print) -> dict:
    """PCKh@0.5 of float32 / float16 / int8 TFLite files of a trained small model."""
    model = train_small_model(size, steps, batch=16, num_train=1200, log=log)
    held_images, held_keypoints, held_heads = synthetic_people(300, size, start=50_000)
    calibration, _, _ = synthetic_people(64, size, start=90_000)
    keras_runner = load_runner(model)
    results = {}

    def evaluate(name, runner):
        predictions = np.concatenate(
            [
                runner.keypoints(np.round(held_images[i : i + 50] * 255).astype(np.uint8))
                for i in range(0, len(held_images), 50)
            ]
        )
        pckh = metrics.pck(predictions, held_keypoints, held_heads, threshold=0.5)
        # PCK at one heatmap pixel (stride 4 input pixels): a finer view.
        pck_px = metrics.pck(
            predictions, held_keypoints, np.full(len(held_heads), 4.0), threshold=1.0
        )
        results[name] = {"pckh@0.5": pckh, "pck@1hm_px": pck_px}
        log(f"{name:<26} PCKh@0.5 {pckh:6.2f}  PCK@1px(hm) {pck_px:6.2f}")

    evaluate("keras", keras_runner)
    serving = work / "serving_small"
    from export.savedmodel import save_serving_model

    save_serving_model(model, serving, batch_size=1)
    variants = [("float32", None), ("float16", None)]
    variants += [("int8", recipe) for recipe in export.tflite.INT8_RECIPES]
    for precision, recipe in variants:
        name = f"tflite_{precision}" + (f"_{recipe}" if recipe else "")
        path = work / f"small_{name}.tflite"
        try:
            export.to_tflite(
                model,
                path,
                quantize=precision,
                calibration=calibration,
                int8_recipe=recipe or export.tflite.INT8_FULL,
                saved_model_dir=serving,
                force=True,
            )
        except Exception as error:  # report and go on with the other recipes
            log(f"{name}: conversion failed: {type(error).__name__}: {error}")
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        runner = load_runner(path, num_threads=threads)
        evaluate(name, runner)
        one = held_images[:1]
        results[name]["size_bytes"] = path.stat().st_size
        results[name]["median_latency_ms"] = median_latency_ms(
            lambda r=runner, x=one: r.heatmaps(x)
        )
    base = results["tflite_float32"]["pckh@0.5"]
    for values in results.values():
        if "pckh@0.5" in values:
            values["drop_vs_float32"] = base - values["pckh@0.5"]
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export", description=__doc__)
    parser.add_argument("--part", nargs="+", choices=("latency", "accuracy"), default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per artifact")
    parser.add_argument("--steps", type=int, default=600, help="training steps (accuracy)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument(
        "--trained-model",
        default=None,
        help="accuracy part: .keras file to reuse (or to save the freshly trained model to)",
    )
    args = parser.parse_args(argv)
    parts = args.part or ["latency", "accuracy"]
    _threads(args.threads)
    output = {}
    with tempfile.TemporaryDirectory(prefix="kerashg-bench-export-") as work:
        work = pathlib.Path(work)
        if "latency" in parts:
            entries = latency_part(args.threads, args.runs, work)
            print("\n== 2-stack hourglass, 256x256, 256 filters: size and latency ==")
            print(format_report(entries))
            by_name = {e["name"]: e for e in entries}
            f32 = by_name["tflite_float32"]
            i8 = by_name["tflite_int8"]
            tf_graph = by_name["savedmodel"]
            goals = {
                "tflite_f32_vs_tf_graph_latency": f32["median_latency_ms"]
                / tf_graph["median_latency_ms"],
                "int8_vs_f32_latency": i8["median_latency_ms"] / f32["median_latency_ms"],
                "int8_vs_f32_size": i8["size_bytes"] / f32["size_bytes"],
            }
            print(
                f"TFLite f32 / TF graph latency {goals['tflite_f32_vs_tf_graph_latency']:.2f} "
                f"(goal <= 1); int8 / f32 latency {goals['int8_vs_f32_latency']:.2f} (goal <= 0.5); "
                f"int8 / f32 size {goals['int8_vs_f32_size']:.2f} (goal <= 0.25)"
            )
            output["latency"] = {"artifacts": entries, "ratios": goals}
        if "accuracy" in parts:
            results = accuracy_part(args.threads, args.steps, work, model_path=args.trained_model)
            print("\n== int8 accuracy on held-out synthetic people (trained small model) ==")
            for name, values in results.items():
                if "pckh@0.5" in values:
                    print(
                        f"{name:<28} PCKh@0.5 {values['pckh@0.5']:6.2f}  "
                        f"drop {values['drop_vs_float32']:+.2f}  "
                        f"PCK@1hm-px {values['pck@1hm_px']:6.2f}"
                    )
                else:
                    print(f"{name:<28} {values}")
            output["accuracy"] = results
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(output, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
