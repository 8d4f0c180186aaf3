"""Export formats side by side: latency, size and the int8 accuracy drop. `python -m benchmarks.export`.

Two parts, in one run on the same machine:

1. `latency`: a 2-stack StackedHourglass at 256×256 with 256 filters (depth 4,
   16 joints, random weights: speed does not depend on them) exported to
   SavedModel, TFLite float32 / float16 / int8 and ONNX; for each, and for the
   Keras model itself, the file size and the median single-image latency
   (`heatmaps`, batch 1, 2 threads). Goals: TFLite float32 no slower than the
   TensorFlow graph (SavedModel); TFLite int8 at most half the float32 latency
   and a quarter of its size.
2. `accuracy`: a trained model exported to TFLite float32 / float16 / int8
   (every int8 recipe), each judged by its own `keypoints` signature on
   held-out images: PCK and the drop from float32, size and interleaved
   latency. Default: a small StackedHourglass (2 stacks, depth 2, 32 filters,
   64×64) trained for about a minute on a synthetic marker task, PCK within
   one heatmap pixel on 256 held-out images. `--people-model M.keras`: a model
   trained by `training.train` (its run's `config.json` beside it), PCK@0.5
   head-normalised on its validation split as `Source.validate` computes it
   (decoded with the model's codec, `model.codec`, which training saves in
   model.keras), calibrated on 64 images of the training pipeline.

    python -m benchmarks.export [--part latency accuracy] [--epochs 60] [--json OUT]
        [--trained-model small.keras] [--people-model runs/.../model.keras]

Measured here (2 shared CPU cores, `--threads 2`, another engineer training;
TFLite ratios from interleaved rounds). `--part latency`: Keras 104 ms /
27.2 MB, SavedModel 104 ms / 58.2 MB, ONNX Runtime 152 ms; TFLite float32
95 ms (0.91× the TF graph) / 26.2 MB; interleaved against float32 (103 ms):
float16 0.95× / 0.503× size, int8 percentile 0.31× / 0.263×, full 0.29× /
0.262×, float-heads 0.42× / 0.295×, float-last-stage 0.54× / 0.608×. The
quarter-size goal is missed: the int8 constants alone are 0.250× the float32
file. `--part accuracy` (marker model): float32 75.29, float16 75.32, int8
percentile 74.39 (−0.90), full 59.89 (−15.4), float-heads 73.75 (−1.5),
float-last-stage 74.78 (−0.5). `--part accuracy --people-model` (the 4-stack
ACNN of the default training run, 128 px): float32 77.36, int8 percentile
77.04 (−0.32), full 18.74 (−58.6), float-heads 57.93 (−19.4),
float-last-stage 63.80 (−13.6). The int8 rows of the latency table are on
random weights, so their parity column is meaningless there (FAILED/skipped).

TensorFlow's own thread pools are process-wide; LiteRT and onnxruntime get
`--threads` (2) explicitly.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time

import numpy as np

import export  # these four import TensorFlow only when a model is built or converted
import kerashg
from export import options
from export.verify import format_report, median_latency_ms
from kerashg import cli
from kerashg.errors import InputError
from kerashg.runtime import KerasRunner, load_runner


def _threads(n: int) -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised
        pass


# ------------------------------------------------------------------ latency
def latency_part(threads: int, runs: int, work: pathlib.Path, log=print) -> list[dict]:
    """Sizes and single-image latencies of every format for the 2-stack 256 model.

    `export_model` writes and times every format (the default int8 recipe as
    `tflite_int8`); the other int8 recipes are added as rows; then every TFLite
    file is timed again in interleaved rounds (`interleaved_median_ms`), the
    figure the int8 / float32 ratio is computed from.
    """
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
        int8_recipes=(options.DEFAULT_INT8_RECIPE,),
    )
    entries = report["artifacts"]
    entries[0]["size_bytes"] = keras_path.stat().st_size
    runners = {
        e["name"]: load_runner(e["path"], num_threads=threads)
        for e in entries
        if e.get("format") == "tflite" or str(e.get("path", "")).endswith(".tflite")
    }
    # The other int8 recipes: size and latency only (random weights).
    one = images[:1]
    for recipe in options.INT8_RECIPES:
        if recipe == options.DEFAULT_INT8_RECIPE:
            continue
        path = work / f"hg2_256_int8_{recipe}.tflite"
        export.to_tflite(model, path, quantize="int8", calibration=images, int8_recipe=recipe)
        name = f"tflite_int8_{recipe}"
        runners[name] = load_runner(path, num_threads=threads)
        entries.append(
            {
                "name": name,
                "format": "tflite",
                "precision": "int8",
                "path": str(path),
                "size_bytes": path.stat().st_size,
                "median_latency_ms": median_latency_ms(
                    lambda r=runners[name], x=one: r.heatmaps(x), runs=runs
                ),
                "skipped": "parity not judged (random weights)",
            }
        )
    interleaved = interleaved_latency_ms(runners, one, rounds=runs)
    for entry in entries:
        if entry["name"] in interleaved:
            entry["interleaved_median_ms"] = interleaved[entry["name"]]
    return entries


# ----------------------------------------------------------------- accuracy
def marker_task(count: int, size: int = 64, num_keypoints: int = 16, seed: int = 0):
    """A synthetic localisation task a small hourglass learns in about a minute.

    Each image shows one 5×5 marker per joint, in a colour fixed per joint, at
    a random position on a textured background; the joint is the marker's
    centre. (The synthetic people renderer needs far longer training than a
    benchmark run can afford before the model's heatmaps mean anything.)

    Returns:
        images float32 (N, S, S, 3) in [0, 1]; keypoints float32 (N, K, 3) in
        input pixels with v = 2.
    """
    rng = np.random.default_rng(seed)
    colours = np.random.default_rng(1234).uniform(0.2, 1.0, (num_keypoints, 3))
    y, x = np.mgrid[0:size, 0:size] / size
    images = np.empty((count, size, size, 3), np.float32)
    keypoints = np.zeros((count, num_keypoints, 3), np.float32)
    for n in range(count):
        phase = rng.uniform(0, 6.3, 3)
        images[n] = 0.25 + 0.15 * np.sin(8 * x[..., None] + 5 * y[..., None] + phase)
        for k in range(num_keypoints):
            cx, cy = rng.integers(4, size - 4, 2)
            images[n, cy - 2 : cy + 3, cx - 2 : cx + 3] = colours[k]
            keypoints[n, k] = (cx, cy, 2)
    return images, keypoints


def train_small_model(images, keypoints, epochs: int, log=print):
    """A 2-stack, depth-2, 32-filter StackedHourglass fitted to the marker task."""
    import keras

    size = images.shape[1]
    keras.utils.set_random_seed(0)
    model = kerashg.StackedHourglass(
        num_stacks=2,
        num_keypoints=keypoints.shape[1],
        filters=32,
        depth=2,
        input_shape=(size, size, 3),
    )
    targets = np.asarray(model.codec.encode(keypoints)[0])
    targets = np.repeat(targets[:, None], 2, axis=1)  # every stage supervised
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss={"heatmaps": "mse"})
    start = time.perf_counter()
    model.fit(images, {"heatmaps": targets}, epochs=epochs, batch_size=16, verbose=0)
    log(f"trained {epochs} epochs on {len(images)} images in {time.perf_counter() - start:.0f} s")
    return model


def marker_evaluation(model_path: str | None, epochs: int, log=print) -> dict:
    """The default accuracy task: a small hourglass trained here on `marker_task`.

    PCK counts a joint correct within one heatmap pixel (4 input pixels) of the
    marker centre, on 256 held-out images; 64 calibration images of another
    seed. With `model_path`: reuse that `.keras` file if it exists, else train
    and save the model there.
    """
    from kerashg import metrics

    train_images, train_keypoints = marker_task(256, seed=0)
    held_images, held_keypoints = marker_task(256, seed=1)
    calibration, _ = marker_task(64, seed=2)
    if model_path and pathlib.Path(model_path).is_file():
        model = kerashg.load_model(model_path, compile=False)
        log(f"loaded trained model {model_path}")
    else:
        model = train_small_model(train_images, train_keypoints, epochs, log=log)
        if model_path:
            model.save(model_path)
    normalizer = np.full(len(held_images), 4.0)  # one heatmap pixel, input pixels

    def score(predictions):
        return {
            "pck": metrics.pck(predictions, held_keypoints, normalizer, threshold=1.0),
            "pck@2hm-px": metrics.pck(predictions, held_keypoints, normalizer, threshold=2.0),
        }

    return {
        "task": "marker model (2 stacks, 32 filters, 64x64), PCK within 1 heatmap pixel",
        "model": model,
        "held_images": held_images,
        "calibration": calibration,
        "score": score,
    }


def people_evaluation(model_path: str, num_calibration: int = 64, pool: int = 256, log=print):
    """A model trained by `training.train`, judged as training judges it.

    Held-out images: the validation split of the run's data source
    (`training.sources.make_source`, with the run's `config.json` beside the
    model when present), PCK@0.5 normalised by head size in original-image
    pixels, as `Source.validate` computes it (the data set's own PCK: PCK@0.2 of
    the torso for LSP, PCK@0.5 of head size otherwise). Calibration: the first
    `num_calibration` images of the TRAINING pipeline (augmented crops of the
    training split; for synthetic data a pool of `pool` rendered images, since
    only the training images depend on the pool size), never validation images.
    """
    import dataclasses

    import tensorflow as tf

    from training.config import TrainConfig, resolve_config
    from training.sources import make_source

    model = kerashg.load_model(model_path, compile=False)
    config_path = pathlib.Path(model_path).parent / "config.json"
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = json.loads(config_path.read_text()) if config_path.is_file() else {}
    settings = {k: v for k, v in saved.items() if k in fields and k not in ("out", "resume")}
    settings["input_size"] = int(model.input_shape[1])
    if settings.get("data", "synthetic") == "synthetic":
        settings["synthetic_pool"] = pool
    with tempfile.TemporaryDirectory(prefix="kerashg-bench-people-") as out:
        source = make_source(resolve_config(TrainConfig(out=out, **settings)))
    calibration = []
    context = tf.distribute.InputContext()
    for images, _, _ in source.train_dataset(0, 0, context):
        calibration.append(images.numpy())
        if sum(len(c) for c in calibration) >= num_calibration:
            break
    calibration = np.concatenate(calibration)[:num_calibration]
    log(
        f"people model {model_path}: {len(source.val_images)} held-out images "
        f"({source.val_split}), {len(calibration)} calibration images from the training pipeline"
    )

    def score(predictions):
        return {"pck": source.pck_of(np.asarray(predictions, np.float32))}

    return {
        "task": f"people model {model_path}, {source.pck_label}",
        "model": model,
        "held_images": source.val_images,
        "calibration": calibration,
        "score": score,
    }


def accuracy_part(
    threads: int,
    epochs: int,
    work: pathlib.Path,
    model_path: str | None = None,
    people_model: str | None = None,
    log=print,
) -> dict:
    """PCK of float32 / float16 / int8 (every recipe) TFLite files of a trained model.

    Every file is judged by its own `keypoints` signature (uint8 images in, the
    in-graph decoding) on the held-out images; `drop_vs_float32` is the PCK
    points lost against the float32 file. The default task is the marker model
    (`marker_evaluation`); `people_model` judges a `training.train` model
    instead (`people_evaluation`).
    """
    from export.savedmodel import save_serving_model

    if people_model:
        task = people_evaluation(people_model, log=log)
    else:
        task = marker_evaluation(model_path, epochs, log=log)
    model, held_images = task["model"], task["held_images"]
    uint8 = np.round(held_images * 255).astype(np.uint8)
    results = {"task": task["task"]}

    def evaluate(name, runner):
        results[name] = task["score"](runner.keypoints(uint8))
        log(f"{name:<30} PCK {results[name]['pck']:6.2f}")

    evaluate("keras", KerasRunner(model))
    serving = work / "serving_accuracy"
    save_serving_model(model, serving, batch_size=1)
    variants = [("float32", None), ("float16", None)]
    variants += [("int8", recipe) for recipe in options.INT8_RECIPES]
    runners = {}
    for precision, recipe in variants:
        name = f"tflite_{precision}" + (f"_{recipe}" if recipe else "")
        path = work / f"accuracy_{name}.tflite"
        start = time.perf_counter()
        try:
            export.to_tflite(
                model,
                path,
                quantize=precision,
                calibration=task["calibration"],
                int8_recipe=recipe or options.DEFAULT_INT8_RECIPE,
                saved_model_dir=serving,
                force=True,
            )
        except Exception as error:  # report and go on with the other recipes
            log(f"{name}: conversion failed: {type(error).__name__}: {error}")
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        seconds = time.perf_counter() - start
        runners[name] = load_runner(path, num_threads=threads)
        evaluate(name, runners[name])
        results[name]["size_bytes"] = path.stat().st_size
        results[name]["convert_s"] = seconds
    latencies = interleaved_latency_ms(runners, held_images[:1])
    for name, milliseconds in latencies.items():
        results[name]["median_latency_ms"] = milliseconds
    base = results["tflite_float32"]
    for name, values in results.items():
        if isinstance(values, dict) and "pck" in values:
            values["drop_vs_float32"] = base["pck"] - values["pck"]
            if name.startswith("tflite"):
                values["size_vs_float32"] = values["size_bytes"] / base["size_bytes"]
                values["latency_vs_float32"] = (
                    values["median_latency_ms"] / base["median_latency_ms"]
                )
    return results


def interleaved_latency_ms(runners: dict, image: np.ndarray, rounds: int = 15) -> dict:
    """Median `heatmaps` latency (ms) of each runner, timed in interleaved rounds.

    Each round calls every runner once in turn, so a change of machine load
    (other processes) affects every format alike and the ratios stay fair.
    """
    for runner in runners.values():
        for _ in range(3):  # warm-up
            runner.heatmaps(image)
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.heatmaps(image)
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: float(np.median(values)) for name, values in times.items()}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m benchmarks.export`."""
    parser = cli.parser("python -m benchmarks.export", __doc__)
    parser.add_argument(
        "--part",
        nargs="+",
        choices=("latency", "accuracy"),
        default=["latency", "accuracy"],
        help="which parts to run",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="TensorFlow, LiteRT and onnxruntime threads"
    )
    parser.add_argument("--runs", type=int, default=20, help="timed calls per artifact")
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (accuracy)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument(
        "--trained-model",
        default=None,
        help="accuracy part: .keras marker model to reuse (or to save the freshly trained one to)",
    )
    parser.add_argument(
        "--people-model",
        default=None,
        help="accuracy part: judge this training.train model (its run's config.json beside it) "
        "with its own PCK (LSP: PCK@0.2 of the torso) on its validation split instead of the "
        "marker model",
    )
    return parser


def main(argv=None) -> int:
    """Entry point of `python -m benchmarks.export`; returns the exit status."""
    return cli.run(build_parser, run, argv)


def run(args: argparse.Namespace) -> int:
    """Runs the parts the parsed arguments name and prints their tables."""
    cli.check_positive(args, "threads", "runs", "epochs")
    if args.people_model and not pathlib.Path(args.people_model).is_file():
        raise InputError(f"--people-model {args.people_model}: no such file")
    parts = args.part
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
            tf_graph = by_name["savedmodel"]
            goals = {
                "tflite_f32_vs_tf_graph_latency": f32["median_latency_ms"]
                / tf_graph["median_latency_ms"],
            }
            print(
                f"TFLite f32 / TF graph latency {goals['tflite_f32_vs_tf_graph_latency']:.2f} "
                "(goal <= 1). TFLite files timed again in interleaved rounds:"
            )
            for name, entry in by_name.items():
                if "interleaved_median_ms" not in entry:
                    continue
                latency = entry["interleaved_median_ms"] / f32["interleaved_median_ms"]
                size = entry["size_bytes"] / f32["size_bytes"]
                goals[f"{name}_vs_f32_latency"] = latency
                goals[f"{name}_vs_f32_size"] = size
                print(
                    f"  {name:<30} {entry['interleaved_median_ms']:8.2f} ms  "
                    f"{entry['size_bytes'] / 1e6:7.2f} MB   x{latency:.2f} latency, "
                    f"x{size:.3f} size of float32"
                )
            print("goals for int8: <= 0.5 x float32 latency, <= 0.25 x its size")
            output["latency"] = {"artifacts": entries, "ratios": goals}
        if "accuracy" in parts:
            results = accuracy_part(
                args.threads,
                args.epochs,
                work,
                model_path=args.trained_model,
                people_model=args.people_model,
            )
            print(f"\n== quantisation accuracy: {results['task']} ==")
            for name, values in results.items():
                if not isinstance(values, dict):
                    continue
                if "pck" not in values:
                    print(f"{name:<30} {values}")
                    continue
                line = (
                    f"{name:<30} PCK {values['pck']:6.2f}  drop {values['drop_vs_float32']:+6.2f}"
                )
                if "size_vs_float32" in values:
                    line += (
                        f"  {values['size_bytes'] / 1e6:7.3f} MB (x{values['size_vs_float32']:.3f})"
                        f"  {values['median_latency_ms']:7.2f} ms "
                        f"(x{values['latency_vs_float32']:.2f})"
                    )
                print(line)
            output["accuracy"] = results
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(output, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
