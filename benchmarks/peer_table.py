"""kerashg against BlazePose full on LSP-extended's held-out people: PCK, misses, latency, size.

    python -m benchmarks.peer_table --data-dir ../shared/data/lspet \\
        --model recipe=runs/lsp/model.keras --model shipped=kerashg/weights/acnn4_lsp_128.keras \\
        --model int8=kerashg/weights/acnn4_lsp_128_int8.tflite --mp-python /tmp/mp/bin/python

For each kerashg model: limb PCK@0.2 of the torso with the annotated box and
on the whole image (`kerashg.cropping.find_person`, its default passes and
score rule), with the flip test as predict runs them (`--no-flip`: without),
as `benchmarks.whole_image` scores them: a photo costs 3 model calls (2 with a
box), 2 without the flip test (1). BlazePose full runs in
its own virtual environment (`benchmarks/blazepose_child.py`, `--mp-python`)
on the whole image (its own detector) and on the box's crop padded 2×; a
person it does not find counts as missed joints. Latency: LiteRT, batch 1,
`--threads` threads, every `.tflite` given and BlazePose full's
(`pose_landmark_full.tflite` from the mediapipe wheel), timed in interleaved
rounds in this one process; the median of the rounds' per-call means. Prints
a Markdown table; `--json` adds one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

from benchmarks import whole_image
from benchmarks.whole_image import annotated_box, held_out_people, score
from kerashg import cli
from kerashg.cropping import DEFAULT_PASSES, MIN_SCORE
from kerashg.errors import InputError
from kerashg.runtime import load_runner

# BlazePose's landmark index of each LSP joint (the person's left and right);
# LSP's neck and head top have none.
BLAZEPOSE_OF_LSP = {
    "r_ankle": 28, "r_knee": 26, "r_hip": 24, "l_hip": 23, "l_knee": 25, "l_ankle": 27,
    "r_wrist": 16, "r_elbow": 14, "r_shoulder": 12, "l_shoulder": 11, "l_elbow": 13,
    "l_wrist": 15,
}  # fmt: skip
BLAZEPOSE_FILE = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
# Far from every joint: a person not found scores as missed joints.
MISSED = -1e6


def kerashg_predictions(model, records, data_dir, log=print, flip=True) -> dict:
    """(N, K, 3) keypoints of one artifact: with the annotated box and on the whole
    image (`find_person` with its default passes and score rule, as predict runs it;
    `flip`: the flip test on the box crop and the last pass, predict's default)."""
    runner = load_runner(model, num_threads=2)
    found = whole_image.predictions(
        runner, records, data_dir, (DEFAULT_PASSES,), (MIN_SCORE,), log=log, flip=flip
    )
    return {"box": found["box"], "whole": found["whole"][MIN_SCORE, DEFAULT_PASSES]}


def blazepose_predictions(mp_python, records, data_dir, log=print) -> dict:
    """(N, 14, 3) LSP-ordered keypoints of BlazePose full, and how many people it missed."""
    child = pathlib.Path(__file__).with_name("blazepose_child.py")
    root = pathlib.Path(data_dir).resolve()
    jobs = {
        "images": [str(root / p) for p in records.image_path],
        "boxes": [annotated_box(k) for k in records.keypoints],
    }
    with tempfile.TemporaryDirectory() as work:
        jobs_path, out_path = pathlib.Path(work, "jobs.json"), pathlib.Path(work, "out.json")
        jobs_path.write_text(json.dumps(jobs))
        log(f"  BlazePose full on {len(records)} images ({mp_python})")
        subprocess.run([str(mp_python), str(child), str(jobs_path), str(out_path)], check=True)
        landmarks = json.loads(out_path.read_text())
    names = records.keypoint_set.names
    result = {}
    for way in ("box", "whole"):
        keypoints = np.full((len(records), len(names), 3), MISSED, np.float32)
        missed = 0
        for i, points in enumerate(landmarks[way]):
            if points is None:
                missed += 1
                continue
            for k, name in enumerate(names):
                if name in BLAZEPOSE_OF_LSP:
                    keypoints[i, k] = points[BLAZEPOSE_OF_LSP[name]]
        result[way], result[f"{way}_missed"] = keypoints, missed
    return result


def blazepose_tflite(mp_python) -> pathlib.Path:
    """BlazePose full's `.tflite` inside the mediapipe wheel of `mp_python`'s environment."""
    site = subprocess.run(
        [str(mp_python), "-c", "import mediapipe, os; print(os.path.dirname(mediapipe.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = pathlib.Path(site).parent / BLAZEPOSE_FILE
    if not path.is_file():
        raise InputError(f"{path}: not found in the mediapipe wheel of {mp_python}")
    return path


def latencies(files: dict, threads: int, rounds: int = 15, calls: int = 20) -> dict:
    """Median over interleaved rounds of the mean ms per batch-1 call of each `.tflite`."""
    from ai_edge_litert.interpreter import Interpreter

    calls_of = {}
    for name, path in files.items():
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        signatures = interpreter.get_signature_list()
        if "keypoints" in signatures:  # a kerashg file: its uint8 keypoints signature
            runner = interpreter.get_signature_runner("keypoints")
            shape = runner.get_input_details()["images"]["shape"]
            image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
            calls_of[name] = (lambda r=runner, x=image: r(images=x), interpreter)
        else:
            interpreter.allocate_tensors()
            detail = interpreter.get_input_details()[0]
            image = np.random.default_rng(0).random(detail["shape"], np.float32)

            def invoke(i=interpreter, d=detail, x=image):
                i.set_tensor(d["index"], x)
                i.invoke()

            calls_of[name] = (invoke, interpreter)
    times = {name: [] for name in files}
    for call, _ in calls_of.values():  # warm-up
        for _ in range(5):
            call()
    for _ in range(rounds):
        for name, (call, _) in calls_of.items():
            tic = time.perf_counter()
            for _ in range(calls):
                call()
            times[name].append((time.perf_counter() - tic) / calls * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("python -m benchmarks.peer_table", __doc__)
    parser.add_argument("--data-dir", required=True, help="LSP-extended folder")
    parser.add_argument(
        "--model", action="append", required=True, metavar="LABEL=PATH", help="a kerashg artifact"
    )
    parser.add_argument("--mp-python", required=True, help="python of the mediapipe venv")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads for latency")
    parser.add_argument("--limit", type=int, default=None, help="the first N people only")
    parser.add_argument(
        "--no-flip", dest="flip", action="store_false", help="kerashg without the flip test"
    )
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


def _command(args: argparse.Namespace) -> int:
    cli.check_positive(args, "threads", "limit")
    models = dict(item.split("=", 1) for item in args.model)
    records, torso = held_out_people(args.data_dir)
    if args.limit:
        records, torso = records[np.arange(min(args.limit, len(records)))], torso[: args.limit]
    rows = {}
    for label, path in models.items():
        predictions = kerashg_predictions(path, records, args.data_dir, flip=args.flip)
        rows[label] = {
            "box": score(predictions["box"], records, torso),
            "whole": score(predictions["whole"], records, torso),
            "size_mb": _size_mb(path),
            "missed": 0,
        }
    blaze = blazepose_predictions(args.mp_python, records, args.data_dir)
    blaze_file = blazepose_tflite(args.mp_python)
    rows["BlazePose full"] = {
        "box": score(blaze["box"], records, torso),
        "whole": score(blaze["whole"], records, torso),
        "size_mb": _size_mb(blaze_file),
        "missed": f"{blaze['whole_missed']} whole / {blaze['box_missed']} box",
    }
    files = {label: path for label, path in models.items() if path.endswith(".tflite")}
    files["BlazePose full"] = str(blaze_file)
    ms = latencies(files, args.threads)
    print(f"{len(records)} people of {args.data_dir} (held-out split), PCK@0.2 of the torso; "
          f"kerashg {'with' if args.flip else 'without'} the flip test")  # fmt: skip
    print("| model | limbs, box | limbs, whole image | all 14, box | all 14, whole | "
          f"not found | LiteRT ms ({args.threads} thread) | MB |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, row in rows.items():
        latency = f"{ms[label]:.2f}" if label in ms else "-"
        head = "-" if label == "BlazePose full" else None
        print(
            f"| {label} | {row['box']['limbs']:.2f} | {row['whole']['limbs']:.2f} | "
            f"{head or format(row['box']['all'], '.2f')} | "
            f"{head or format(row['whole']['all'], '.2f')} | {row['missed']} | {latency} | "
            f"{row['size_mb']:.2f} |"
        )
    if args.json:
        print(
            json.dumps({"people": len(records), "flip": args.flip, "rows": rows, "latency_ms": ms})
        )
    return 0


def _size_mb(path) -> float:
    path = pathlib.Path(path)
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def main(argv=None) -> int:
    return cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
