"""Pose keypoints of an image, a folder of images or a video, from any exported model.

    python -m kerashg.predict INPUT [--model ARTIFACT] [--out DIR [--force]]
        [--box X,Y,W,H ... | --boxes FILE [--box-score-threshold S]]
        [--format {kerashg,coco}] [--score-threshold T] [--video-masks]
        [--smooth [--smooth-min-cutoff HZ] [--smooth-beta B] [--smooth-d-cutoff HZ]]

ARTIFACT is a `.keras` file, a SavedModel folder (from `python -m export`), a
`.tflite` or an `.onnx` file (default: the shipped acnn4_lsp_128.keras). A
`.tflite` file runs with ai-edge-litert and NumPy only, an `.onnx` file with
onnxruntime only: TensorFlow and Keras are not imported (`kerashg.runtime`).

People: without a box the whole frame is one person (letterboxed into the
model input). `--box x,y,w,h` (repeatable) gives person boxes in pixels of the
original image for every image and frame; `--boxes FILE` reads a COCO
detection-results JSON, matched to images by file name or by the image id in
the file name, to video frames by `image_id` = 0-based frame index.

Video: `--smooth` runs a One Euro filter on every joint of each person track
(the i-th person with the whole frame or --box; greedy IoU >= 0.3 with --boxes).

Outputs in --out (none is overwritten without --force, and an input never):
`keypoints.json`; per image `<name>_<ext>_pose.jpg` (skeletons: the person's
left blue, right orange, centre green; joints scoring at or below
--score-threshold, or off the image, not drawn; a legend) and, for ACNN,
`<name>_<ext>_masks.jpg` (every stage's attention mask over each person's crop,
letterbox cut away, one row per person, as in the paper's Fig. 6); for a video
`<name>_<ext>_pose.<ext>` in the input's container where OpenCV writes it (else
.mp4, said on stderr); with `--format coco` also `coco_results.json`. An
unreadable image of a folder is skipped with a warning and listed under
"skipped". The layout of `keypoints.json`:

    {"model", "format", "keypoint_set", "joint_names", "coordinates",
     "boxes": "whole frame" | "--box" | the --boxes file,
     "smoothed": bool, "smoothing": null | {"filter", "fps", "min_cutoff", "beta", "d_cutoff"},
     "score_threshold": the drawing's threshold, "coco_results": file name or null,
     "skipped": [{"image", "reason"}, ...],
     "results": [  # one per image or video frame
       {"image": file name, "frame": video frame index or null,
        "image_id": COCO image id (from --boxes or the file name) or null,
        "people": [{"box": [x, y, w, h] or null (whole frame),
                    "box_score": detector score or null,
                    "track": id (video only), "keypoints": K × [x, y, score],
                    "score": mean joint score × box_score}, ...],
        "keypoints": the first person's keypoints, or null when there is none}]}

x, y are in pixels of the original image (0-based), score is the heatmap peak.
`--format coco` (a COCO keypoint model) writes the people as COCO keypoint
results, `{"image_id", "category_id": 1, "keypoints": [x, y, score] * 17,
"score"}`, which `python -m training.evaluate --dataset coco` scores.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

import numpy as np

from kerashg import cli
from kerashg.boxes import (  # noqa: F401  (the public names of earlier versions)
    BoxError,
    PersonBoxes,
    check_box,
    image_id_from_name,
    match_tracks,
    parse_box,
)
from kerashg.draw import DEFAULT_SCORE_THRESHOLD
from kerashg.errors import InputError
from kerashg.images import IMAGE_SUFFIXES, list_image_files
from kerashg.keypoints import COCO, KEYPOINT_SETS, KeypointSet
from kerashg.outputs import (  # noqa: F401
    COCO_RESULTS,
    OutputExistsError,
    check_outputs,
    coco_results,
    mask_panels,
    masks_on_video_frame,
    output_name,
    planned_outputs,
    rounded,
    video_container,
)
from kerashg.runtime import (  # noqa: F401
    KerasRunner,
    ONNXRunner,
    Runner,
    SavedModelRunner,
    TFLiteRunner,
    guess_keypoint_set,
    load_runner,
    model_keypoint_set,
    predict_frame,
    predict_people,
    whole_frame_box,
)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# The model used when none is given (shipped with the package).
DEFAULT_MODEL = pathlib.Path(__file__).parent / "weights" / "acnn4_lsp_128.keras"
# One Euro speed coefficient for keypoints in pixels: on a 30 fps track it keeps
# about 1/3 of a still joint's jitter (0.30 with beta 0) while following a
# 100 px jump within 1 px in 6 frames instead of 24 (tests/test_smoothing.py).
DEFAULT_SMOOTH_BETA = 0.007
# What `--format` writes: kerashg's keypoints.json only, or also COCO results.
OUTPUT_FORMATS = ("kerashg", "coco")


def _input_kind(path: pathlib.Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputError(
        f"Unknown input. Received: input={str(path)!r}; expected an image "
        f"({', '.join(IMAGE_SUFFIXES)}), a video ({', '.join(VIDEO_SUFFIXES)}) or a folder"
    )


def _read_rgb(path: pathlib.Path):
    from kerashg.images import ImageError, read_image_file  # refuses truncated files

    try:
        return read_image_file(path)
    except ImageError as error:
        raise InputError(f"could not read the image ({error})", path=path) from None


def resolve_model(model):
    """`model`, or `DEFAULT_MODEL` when None (a `FileNotFoundError` if it is missing)."""
    if model is not None:
        return model
    if not DEFAULT_MODEL.exists():
        raise FileNotFoundError(
            f"no --model was given and the shipped model is missing: {DEFAULT_MODEL} "
            "(pass --model with a .keras, SavedModel folder, .tflite or .onnx artifact)"
        )
    return DEFAULT_MODEL


def _check_coco(names: KeypointSet | None, kind: str) -> None:
    if kind == "video":
        raise InputError("COCO results score images; the input is a video", field="--format coco")
    if names is None or tuple(names.names) != tuple(COCO.names):
        found = "an unknown keypoint set" if names is None else f"the {names.name!r} keypoints"
        raise InputError(
            f"COCO results need a model of the 17 COCO keypoints; this one predicts {found}",
            field="--format coco",
        )


def predict(
    input_path: str | os.PathLike,
    model=None,
    out_dir: str | os.PathLike | None = None,
    *,
    keypoint_set: str | KeypointSet | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    num_threads: int | None = None,
    boxes=None,
    boxes_file: str | os.PathLike | None = None,
    box_score_threshold: float = 0.0,
    smooth: bool = False,
    smooth_min_cutoff: float = 1.0,
    smooth_beta: float = DEFAULT_SMOOTH_BETA,
    smooth_d_cutoff: float = 1.0,
    force: bool = False,
    output_format: str = "kerashg",
    video_masks: bool = False,
) -> dict:
    """Runs a model on an image, a folder of images or a video and writes the results.

    Args:
        input_path: image file, folder of images, or video file (cv2.VideoCapture).
        model: artifact path (`.keras`, SavedModel folder, `.tflite`, `.onnx`)
            or a `Runner`; None: `DEFAULT_MODEL`.
        out_dir: where to write `keypoints.json` and the drawings; None writes
            nothing and only returns the results.
        keypoint_set: name or `KeypointSet`; default the built-in set with the
            model's joint count.
        score_threshold: joints scoring at or below it are not drawn. Default 0.3.
        num_threads: CPU threads for LiteRT / onnxruntime.
        boxes: `[x, y, w, h]` person boxes (original-image pixels) used for
            every image and frame; None (and no `boxes_file`): the whole frame.
        boxes_file: COCO detection-results JSON (see `PersonBoxes`); an input
            with no box in it has no person.
        box_score_threshold: boxes of `boxes_file` scoring below it are dropped.
        smooth: One Euro filter the keypoints over consecutive video frames,
            per person track (video only).
        smooth_min_cutoff, smooth_beta, smooth_d_cutoff: the filter's
            parameters (`kerashg.smoothing.OneEuroFilter`), speeds in pixels / s.
        force: bool, replace outputs that already exist in `out_dir` (never an
            input). Default False: `OutputExistsError` before any work.
        output_format: "kerashg" (keypoints.json) or "coco" (also
            `coco_results.json`, COCO keypoint results; images and a COCO
            keypoint model only).
        video_masks: bool, blend each person's ACNN attention mask onto the
            annotated video's frames. Default False.

    Returns:
        dict: the `keypoints.json` layout of the module docstring.

    Raises:
        InputError: an input, option or output the run cannot use, before any
            work where it can be known then.
    """
    import cv2

    from kerashg import draw
    from kerashg.smoothing import OneEuroFilter

    input_path = pathlib.Path(input_path)
    if not input_path.exists():
        raise FileNotFoundError(f"input not found: {input_path}")
    kind = _input_kind(input_path)
    if output_format not in OUTPUT_FORMATS:
        raise InputError(f"expected one of {OUTPUT_FORMATS}. Received: {output_format!r}")
    coco = output_format == "coco"
    if coco and kind == "video":
        _check_coco(None, kind)
    if smooth and kind != "video":
        raise InputError(
            f"--smooth filters keypoints over consecutive video frames; {input_path} is "
            f"{'a folder' if kind == 'folder' else 'an image'}, not a video"
        )
    if smooth:  # checks the parameters before any work
        try:
            OneEuroFilter(25.0, smooth_min_cutoff, smooth_beta, smooth_d_cutoff)
        except ValueError as error:
            raise InputError(str(error), field="--smooth-*") from None
    if boxes is not None and boxes_file is not None:
        raise InputError("give person boxes either as `boxes` (--box) or `boxes_file` (--boxes)")
    if boxes is not None:
        boxes = [check_box(box, "--box") for box in boxes]
    detections = None
    if boxes_file is not None:
        detections = PersonBoxes(boxes_file, box_score_threshold)
    files = None
    if kind == "image":
        files = [input_path]
    elif kind == "folder":
        files, _ = list_image_files(input_path)  # FIFOs, symlink loops: a counted warning
        if not files:
            raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the folder", input_path)
    if detections is not None and files is not None:
        if not any(detections.for_image(p.name) for p in files):
            raise BoxError(
                f"--boxes file {detections.path}: no box matches an input image by file_name "
                f"or image_id (e.g. {files[0].name} → image_id "
                f"{image_id_from_name(files[0].name)}; {sum(detections.dropped.values())} "
                f"boxes dropped by score or category)"
            )
    model = resolve_model(model)
    out = pathlib.Path(out_dir) if out_dir is not None else None
    inputs = files if files is not None else [input_path]
    video_suffix, fourcc = None, None
    if files is None and out is not None:
        video_suffix, fourcc, note = video_container(input_path.suffix)
        if note:
            print(f"note: {note}", file=sys.stderr)
    protected = [*inputs, *([detections.path] if detections is not None else [])]
    if not isinstance(model, Runner):
        protected.append(pathlib.Path(model))
    if out is not None:
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"{out}: --out: is a file; expected a folder")
        # The outputs every run writes, before the model is loaded...
        check_outputs(planned_outputs(out, inputs, video_suffix, False, coco), protected, force)
    runner = model if isinstance(model, Runner) else load_runner(model, num_threads)
    names = model_keypoint_set(runner, keypoint_set)
    if coco:
        _check_coco(names, kind)
    if out is not None:
        # ... and with the mask panels of a model that has masks, before any image.
        masks = files is not None and runner.has_masks
        planned = planned_outputs(out, inputs, video_suffix, masks, coco)
        check_outputs(planned, protected, force)
        out.mkdir(parents=True, exist_ok=True)
    results, skipped = [], []
    # Video person tracks: {track: box} of the last frame, the filters, the next id.
    tracking = {"previous": {}, "filters": {}, "next": 0}
    fps = None

    def track_ids(people):
        if detections is None:  # whole frame or --box: the i-th person is track i
            return list(range(len(people)))
        ids, tracking["next"] = match_tracks(
            tracking["previous"], [p["box"] for p in people], tracking["next"]
        )
        return ids

    def handle(frame_rgb, name, frame_index, writer=None):
        image_id = None
        if detections is None:
            frame_boxes, box_scores = boxes, None
        else:
            found = (
                detections.for_image(name)
                if frame_index is None
                else detections.for_frame(frame_index)
            )
            frame_boxes, box_scores = [d["box"] for d in found], [d["score"] for d in found]
            image_id = next((d["image_id"] for d in found if d["image_id"] is not None), None)
        if frame_index is None and image_id is None:
            image_id = image_id_from_name(name)
        with_masks = out is not None and (writer is None or video_masks)
        people = predict_people(runner, frame_rgb, frame_boxes, with_masks=with_masks)
        tracks = track_ids(people) if frame_index is not None else None
        if smooth:
            filters = tracking["filters"]
            tracking["filters"] = {}
            for person, track in zip(people, tracks, strict=True):
                one_euro = filters.get(track) or OneEuroFilter(
                    fps, smooth_min_cutoff, smooth_beta, smooth_d_cutoff
                )
                person["keypoints"][:, :2] = one_euro(
                    person["keypoints"][:, :2], t=frame_index / fps
                )
                tracking["filters"][track] = one_euro
        if tracks is not None:
            tracking["previous"] = {t: p["box"] for t, p in zip(tracks, people, strict=True)}
        entries = []
        for i, person in enumerate(people):
            entry = {
                "box": None if person["box"] is None else rounded(person["box"]),
                "box_score": None if box_scores is None else round(box_scores[i], 4),
            }
            if tracks is not None:
                entry["track"] = tracks[i]
            entry["keypoints"] = [rounded(joint) for joint in person["keypoints"]]
            score = float(np.mean(person["keypoints"][:, 2])) * (entry["box_score"] or 1.0)
            entry["score"] = round(score, 4)
            entries.append(entry)
        results.append(
            {
                "image": name,
                "frame": frame_index,
                "image_id": image_id,
                "people": entries,
                "keypoints": entries[0]["keypoints"] if entries else None,
            }
        )
        if out is None:
            return
        bgr = cv2.cvtColor(np.asarray(frame_rgb, np.uint8), cv2.COLOR_RGB2BGR)
        if writer is not None and video_masks:
            bgr = masks_on_video_frame(bgr, people, runner.input_size)
        drawn = draw.draw_people(
            bgr,
            [p["keypoints"] for p in people],
            [p["box"] for p in people],
            names,
            score_threshold,
            legend=True,
        )
        if writer is not None:
            writer.write(drawn)
            return
        cv2.imwrite(str(out / output_name(name, "pose", ".jpg")), drawn)
        panels = mask_panels(people)
        if panels is not None:
            cv2.imwrite(str(out / output_name(name, "masks", ".jpg")), panels)

    if files is not None:
        for number, path in enumerate(files, start=1):
            try:
                frame_rgb = _read_rgb(path)
            except InputError as error:
                if len(files) == 1:
                    raise
                skipped.append({"image": path.name, "reason": error.reason})
                print(
                    f"warning: skipped {path} ({error.reason}); image {number} of "
                    f"{len(files)}, {len(skipped)} skipped so far",
                    file=sys.stderr,
                )
                continue
            handle(frame_rgb, path.name, None)
        if not results:
            raise InputError(f"none of its {len(files)} images could be read", input_path)
    else:
        capture = cv2.VideoCapture(str(input_path))
        if not capture.isOpened():
            raise InputError("could not open the video", input_path)
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        writer = None
        try:
            index = 0
            while True:
                ok, frame_bgr = capture.read()
                if not ok:
                    break
                if out is not None and writer is None:
                    height, width = frame_bgr.shape[:2]
                    writer = cv2.VideoWriter(
                        str(out / output_name(input_path.name, "pose", video_suffix)),
                        cv2.VideoWriter_fourcc(*fourcc),
                        fps,
                        (width, height),
                    )
                frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
                handle(frame_rgb, input_path.name, index, writer)
                index += 1
        finally:
            capture.release()
            if writer is not None:
                writer.release()
        if not results:
            raise InputError("the video has no readable frame", input_path)
    if skipped:
        print(
            f"warning: skipped {len(skipped)} of {len(files)} images that could not be read "
            '(listed under "skipped" in keypoints.json)',
            file=sys.stderr,
        )
    box_source = "whole frame" if boxes is None else "--box"
    if detections is not None:
        box_source = str(detections.path)
    report = {
        "model": str(model) if not isinstance(model, Runner) else runner.format,
        "format": runner.format,
        "keypoint_set": names.name if names is not None else None,
        "joint_names": list(names.names) if names is not None else None,
        "coordinates": "x, y in pixels of the input image (0-based), score = heatmap peak",
        "boxes": box_source,
        "smoothed": bool(smooth),
        "smoothing": (
            {
                "filter": "one euro",
                "fps": round(float(fps), 3),
                "min_cutoff": smooth_min_cutoff,
                "beta": smooth_beta,
                "d_cutoff": smooth_d_cutoff,
            }
            if smooth
            else None
        ),
        "score_threshold": score_threshold,
        "coco_results": COCO_RESULTS if coco else None,
        "skipped": skipped,
        "results": results,
    }
    if coco:
        entries = coco_results(results)  # checks every image has an id before writing
        if out is not None:
            (out / COCO_RESULTS).write_text(json.dumps(entries))
    if out is not None:
        (out / "keypoints.json").write_text(json.dumps(report, indent=1))
    return report


def build_parser():
    """The command line (imports no TensorFlow, Keras, LiteRT or OpenCV)."""
    parser = cli.parser("python -m kerashg.predict", __doc__)
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument(
        "--model",
        default=None,
        help=".keras, SavedModel folder, .tflite or .onnx (default: the shipped "
        f"{DEFAULT_MODEL.name}); .tflite and .onnx run without TensorFlow",
    )
    parser.add_argument(
        "--out", default=None, help="output folder (default: print the JSON, write nothing)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace outputs that already exist in --out (default: refuse, before any "
        "work); an input is never replaced",
    )
    parser.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="kerashg",
        help="kerashg: keypoints.json; coco: also coco_results.json (printed without "
        "--out), COCO keypoint results for `python -m training.evaluate --dataset coco`; "
        "images and a 17-keypoint COCO model only; the image id is the --boxes entry's "
        "or the number in the file name",
    )
    parser.add_argument(
        "--keypoint-set",
        default=None,
        choices=tuple(KEYPOINT_SETS),
        help="the model's joints, for the skeleton and the JSON names (default: the set "
        "with the model's joint count: 14 lsp, 16 mpii, 17 coco)",
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=DEFAULT_SCORE_THRESHOLD,
        help="drawings leave out joints whose score (heatmap peak) is at or below it, as "
        "MMPose and Ultralytics do; keypoints.json keeps every joint with its score",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for LiteRT and onnxruntime"
    )
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument(
        "--box",
        action="append",
        default=None,
        metavar="X,Y,W,H",
        help="a person box in pixels of the original image, used for every image and "
        "video frame; repeat for several people (default: the whole frame is one person)",
    )
    boxes.add_argument(
        "--boxes",
        default=None,
        metavar="FILE",
        help="COCO detection-results JSON: a list of {image_id or file_name, bbox [x,y,w,h], "
        "score}; matched to images by file name, else by image_id = the number in the "
        "file name (000000000139.jpg → 139), and to video frames by image_id = 0-based "
        "frame index; category_id other than 1 (person) is dropped",
    )
    parser.add_argument(
        "--box-score-threshold",
        type=float,
        default=0.0,
        help="drop --boxes entries scoring below it",
    )
    parser.add_argument(
        "--video-masks",
        action="store_true",
        help="ACNN on video: blend each person's attention mask (the last stage that "
        "enters a prediction) onto the annotated video's frames",
    )
    parser.add_argument(
        "--smooth",
        action="store_true",
        help="video only: One Euro filter the keypoints of each person over the frames "
        "(an error for images and folders)",
    )
    parser.add_argument(
        "--smooth-min-cutoff", type=float, default=1.0, help="One Euro minimum cutoff, Hz"
    )
    parser.add_argument(
        "--smooth-beta",
        type=float,
        default=DEFAULT_SMOOTH_BETA,
        help="One Euro cutoff gain per pixel / s of speed",
    )
    parser.add_argument(
        "--smooth-d-cutoff", type=float, default=1.0, help="One Euro cutoff of the speed, Hz"
    )
    return parser


def run(args) -> int:
    """Runs the parsed command; prints a summary (or the JSON without --out)."""
    start = time.perf_counter()
    box_list = None if args.box is None else [parse_box(text) for text in args.box]
    report = predict(  # resolves a missing --model to DEFAULT_MODEL
        args.input,
        args.model,
        args.out,
        keypoint_set=args.keypoint_set,
        score_threshold=args.score_threshold,
        num_threads=args.threads,
        boxes=box_list,
        boxes_file=args.boxes,
        box_score_threshold=args.box_score_threshold,
        smooth=args.smooth,
        smooth_min_cutoff=args.smooth_min_cutoff,
        smooth_beta=args.smooth_beta,
        smooth_d_cutoff=args.smooth_d_cutoff,
        force=args.force,
        output_format=args.format,
        video_masks=args.video_masks,
    )
    seconds = time.perf_counter() - start
    count = len(report["results"])
    people = sum(len(r["people"]) for r in report["results"])
    if args.out is None:
        shown = coco_results(report["results"]) if args.format == "coco" else report
        print(json.dumps(shown, indent=1))
    else:
        written = "keypoints.json" + (f" and {COCO_RESULTS}" if args.format == "coco" else "")
        print(f"wrote {written} in {args.out} ({count} images or frames, {people} people)")
    # Without --out stdout is the JSON alone (for a pipe); the timing goes to stderr.
    print(
        f"{count} images or frames in {seconds:.1f} s with {report['format']}",
        file=sys.stdout if args.out is not None else sys.stderr,
    )
    return 0


def main(argv=None) -> int:
    """CLI entry point: 0, or `SystemExit(2)` with one `error:` line on bad input."""
    return cli.run(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
