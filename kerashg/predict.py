"""Pose keypoints of an image, a folder of images or a video, from any exported model.

    python -m kerashg.predict INPUT [--model ARTIFACT] [--out DIR [--force]]
        [--box X,Y,W,H ... | --boxes FILE [--box-score-threshold S]] [--passes N] [--no-flip]
        [--format {kerashg,coco}] [--score-threshold T] [--video-masks]
        [--smooth [--smooth-min-cutoff HZ] [--smooth-beta B] [--smooth-d-cutoff HZ]]

The command over `kerashg.PoseEstimator` (what it finds, as Python, is
`kerashg.PoseEstimator(ARTIFACT)(image, boxes)`): ARTIFACT is a `.keras` file, a
SavedModel folder (from `python -m export`), a `.tflite` or an `.onnx` file, or a
trained preset's name (default: the shipped acnn4_lsp_128.keras). A `.tflite`
file runs with ai-edge-litert and NumPy only, an `.onnx` file with onnxruntime
only: TensorFlow and Keras are not imported (`kerashg.runtime`).

People: without a box one person is found in the whole frame (letterboxed into
the model input), then in crops around the joints found (`--passes` in all,
`kerashg.cropping`; on video the crop follows the person from frame to frame).
Every person crop is also run mirrored and the two averaged (the flip test:
+1.3 to +1.8 points PCK@0.2 on LSP-extended's held-out people, one more model
run per person; `--no-flip` skips it).
`--box x,y,w,h` (repeatable) gives person boxes in pixels of the
original image for every image and frame; `--boxes FILE` reads a COCO
detection-results JSON, matched to images by file name or by the image id in
the file name, to video frames by `image_id` = 0-based frame index.

Video: `--smooth` runs a One Euro filter on every joint of each person track
(the one person without a box, the i-th with --box; greedy IoU >= 0.3 with
--boxes; `kerashg.PoseTracker`).

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
     "boxes": "whole frame" | "--box" | the --boxes file, "passes": --passes,
     "flip": bool, "smoothed": bool,
     "smoothing": null | {"filter", "fps", "min_cutoff", "beta", "d_cutoff"},
     "score_threshold": the drawing's threshold, "coco_results": file name or null,
     "skipped": [{"image", "reason"}, ...],
     "results": [  # one per image or video frame
       {"image": file name, "frame": video frame index or null,
        "image_id": COCO image id (from --boxes or the file name) or null,
        "people": [{"box": [x, y, w, h] (given, or found around the joints)
                              or null (the whole frame),
                    "box_score": detector score or null,
                    "track": id (video only), "keypoints": K × [x, y, score],
                    "score": mean joint score × box_score}, ...],
        "keypoints": the first person's keypoints, or null when there is none}]}

x, y are in pixels of the original image (0-based), score is the heatmap peak.
`--format coco` (a COCO keypoint model) writes the people as COCO keypoint
results, `{"image_id", "category_id": 1, "keypoints": [x, y, score] * 17,
"score"}`, which `python -m kerashg.evaluate --dataset coco` scores.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import sys
import time

from kerashg import cli
from kerashg.boxes import BoxError, PersonBoxes, check_box, image_id_from_name, parse_box
from kerashg.cropping import DEFAULT_PASSES
from kerashg.draw import DEFAULT_SCORE_THRESHOLD
from kerashg.errors import InputError
from kerashg.images import IMAGE_SUFFIXES, list_image_files
from kerashg.keypoints import COCO, KEYPOINT_SETS, KeypointSet
from kerashg.outputs import (
    COCO_RESULTS,
    OutputExistsError,
    check_outputs,
    coco_results,
    mask_panels,
    masks_on_video_frame,
    output_name,
    planned_outputs,
    video_container,
)
from kerashg.pose_estimator import PoseEstimator, as_rgb_image, resolve_model
from kerashg.pose_tracker import DEFAULT_SMOOTH_BETA
from kerashg.presets import DEFAULT_MODEL
from kerashg.smoothing import OneEuroFilter

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# What `--format` writes: kerashg's keypoints.json only, or also COCO results.
OUTPUT_FORMATS = ("kerashg", "coco")


def _input_kind(path: pathlib.Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
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


def _check_coco(names: KeypointSet | None, kind: str) -> None:
    if kind == "video":
        raise InputError("COCO results score images; the input is a video", field="--format coco")
    if names is None or tuple(names.names) != tuple(COCO.names):
        found = "an unknown keypoint set" if names is None else f"the {names.name!r} keypoints"
        raise InputError(
            f"COCO results need a model of the 17 COCO keypoints; this one predicts {found}",
            field="--format coco",
        )


def _check_smoothing(smooth: bool, kind: str, input_path, smoothing: dict) -> None:
    """--smooth is for videos, with filter parameters `OneEuroFilter` accepts."""
    if not smooth:
        return
    if kind != "video":
        raise InputError(
            f"--smooth filters keypoints over consecutive video frames; {input_path} is "
            f"{'a folder' if kind == 'folder' else 'an image'}, not a video"
        )
    try:
        OneEuroFilter(25.0, **smoothing)
    except ValueError as error:
        raise InputError(str(error), field="--smooth-*") from None


def _image_files(input_path: pathlib.Path, kind: str) -> list[pathlib.Path] | None:
    """The images to read (None for a video)."""
    if kind == "image":
        return [input_path]
    if kind == "video":
        return None
    files, _ = list_image_files(input_path)  # FIFOs, symlink loops: a counted warning
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the folder", input_path)
    return files


def _detections(boxes_file, score_threshold: float, files) -> PersonBoxes | None:
    """The --boxes file, refused when no box matches any input image."""
    if boxes_file is None:
        return None
    detections = PersonBoxes(boxes_file, score_threshold)
    if files is not None and not any(detections.for_image(p.name) for p in files):
        raise BoxError(
            f"--boxes file {detections.path}: no box matches an input image by file_name "
            f"or image_id (e.g. {files[0].name} → image_id "
            f"{image_id_from_name(files[0].name)}; {sum(detections.dropped.values())} "
            f"boxes dropped by score or category)"
        )
    return detections


@dataclasses.dataclass
class _Run:
    """One run of the command: its inputs, person boxes, outputs and drawing."""

    input_path: pathlib.Path
    kind: str
    files: list[pathlib.Path] | None
    boxes: list | None
    detections: PersonBoxes | None
    out: pathlib.Path | None
    coco: bool
    score_threshold: float
    video_masks: bool
    video_suffix: str | None = None
    fourcc: str | None = None
    results: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)

    @property
    def inputs(self) -> list[pathlib.Path]:
        return self.files if self.files is not None else [self.input_path]

    def check_outputs(self, model, force: bool, masks: bool) -> None:
        """Refuses outputs that exist (without `force`) or would replace an input."""
        if self.out is None:
            return
        if self.out.exists() and not self.out.is_dir():
            raise OutputExistsError(f"{self.out}: --out: is a file; expected a folder")
        protected = [*self.inputs]
        if self.detections is not None:
            protected.append(self.detections.path)
        if isinstance(model, PoseEstimator):
            model = model.model_path
        if isinstance(model, pathlib.Path):
            protected.append(model)
        planned = planned_outputs(self.out, self.inputs, self.video_suffix, masks, self.coco)
        check_outputs(planned, protected, force)

    def frame_boxes(self, name: str, frame_index: int | None):
        """(boxes or None, box scores or None, COCO image id or None) of a frame."""
        if self.detections is None:
            image_id = image_id_from_name(name) if frame_index is None else None
            return self.boxes, None, image_id
        found = (
            self.detections.for_image(name)
            if frame_index is None
            else self.detections.for_frame(frame_index)
        )
        image_id = next((d["image_id"] for d in found if d["image_id"] is not None), None)
        if frame_index is None and image_id is None:
            image_id = image_id_from_name(name)
        return [d["box"] for d in found], [d["score"] for d in found], image_id

    def add_result(self, people, name: str, frame_index: int | None, image_id) -> None:
        entries = [person.to_dict() for person in people]
        self.results.append(
            {
                "image": name,
                "frame": frame_index,
                "image_id": image_id,
                "people": entries,
                "keypoints": entries[0]["keypoints"] if entries else None,
            }
        )

    def drawing(self, frame_rgb, people, estimator: PoseEstimator, video: bool):
        """The frame (BGR) with every person's skeleton, box and the legend."""
        import cv2

        from kerashg import draw

        bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
        if video and self.video_masks:
            bgr = masks_on_video_frame(bgr, [p.details for p in people], estimator.input_size)
        return draw.draw_people(
            bgr,
            [p.keypoints for p in people],
            [p.box for p in people],
            estimator.keypoint_set,
            self.score_threshold,
            legend=True,
        )


def _predict_image(run: _Run, estimator: PoseEstimator, frame_rgb, name: str) -> None:
    import cv2

    boxes, box_scores, image_id = run.frame_boxes(name, None)
    with_masks = run.out is not None
    people = estimator(frame_rgb, boxes, box_scores=box_scores, with_masks=with_masks)
    run.add_result(people, name, None, image_id)
    if run.out is None:
        return
    drawn = run.drawing(frame_rgb, people, estimator, video=False)
    cv2.imwrite(str(run.out / output_name(name, "pose", ".jpg")), drawn)
    panels = mask_panels([p.details for p in people])
    if panels is not None:
        cv2.imwrite(str(run.out / output_name(name, "masks", ".jpg")), panels)


def _predict_images(run: _Run, estimator: PoseEstimator) -> None:
    """Every image of the run; an unreadable one of several is skipped with a warning."""
    for number, path in enumerate(run.files, start=1):
        try:
            frame_rgb = as_rgb_image(path)
        except InputError as error:
            if len(run.files) == 1:
                raise
            run.skipped.append({"image": path.name, "reason": error.reason})
            print(
                f"warning: skipped {path} ({error.reason}); image {number} of "
                f"{len(run.files)}, {len(run.skipped)} skipped so far",
                file=sys.stderr,
            )
            continue
        _predict_image(run, estimator, frame_rgb, path.name)
    if not run.results:
        raise InputError(f"none of its {len(run.files)} images could be read", run.input_path)
    if run.skipped:
        print(
            f"warning: skipped {len(run.skipped)} of {len(run.files)} images that could not "
            'be read (listed under "skipped" in keypoints.json)',
            file=sys.stderr,
        )


def _predict_video(run: _Run, estimator: PoseEstimator, smooth: bool, smoothing: dict) -> float:
    """Every frame of the video, people followed by a `PoseTracker`; returns its fps."""
    import cv2

    capture = cv2.VideoCapture(str(run.input_path))
    if not capture.isOpened():
        raise InputError("could not open the video", run.input_path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    tracker = estimator.stream(
        fps, smooth=smooth, match_boxes=run.detections is not None, **smoothing
    )
    writer = None
    try:
        while True:
            ok, frame_bgr = capture.read()
            if not ok:
                break
            frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
            index = tracker.frame_index
            boxes, box_scores, image_id = run.frame_boxes(run.input_path.name, index)
            with_masks = run.out is not None and run.video_masks
            people = tracker(frame_rgb, boxes, box_scores=box_scores, with_masks=with_masks)
            run.add_result(people, run.input_path.name, index, image_id)
            if run.out is not None:
                if writer is None:
                    writer = _video_writer(run, fps, frame_bgr.shape)
                writer.write(run.drawing(frame_rgb, people, estimator, video=True))
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if not run.results:
        raise InputError("the video has no readable frame", run.input_path)
    return fps


def _video_writer(run: _Run, fps: float, shape):
    import cv2

    path = run.out / output_name(run.input_path.name, "pose", run.video_suffix)
    height, width = shape[:2]
    return cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*run.fourcc), fps, (width, height))


def _report(run: _Run, estimator: PoseEstimator, smoothing: dict | None) -> dict:
    """The `keypoints.json` layout of the module docstring."""
    names = estimator.keypoint_set
    box_source = "whole frame" if run.boxes is None else "--box"
    if run.detections is not None:
        box_source = str(run.detections.path)
    source = estimator.model_path
    return {
        "model": str(source) if source is not None else estimator.format,
        "format": estimator.format,
        "keypoint_set": names.name if names is not None else None,
        "joint_names": list(names.names) if names is not None else None,
        "coordinates": "x, y in pixels of the input image (0-based), score = heatmap peak",
        "boxes": box_source,
        "passes": estimator.passes,
        "flip": estimator.flip,
        "smoothed": smoothing is not None,
        "smoothing": smoothing,
        "score_threshold": run.score_threshold,
        "coco_results": COCO_RESULTS if run.coco else None,
        "skipped": run.skipped,
        "results": run.results,
    }


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
    passes: int = DEFAULT_PASSES,
    flip: bool | None = None,
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
        model: what `kerashg.PoseEstimator` takes (an artifact path, a trained
            preset's name, a `Runner`), or a `PoseEstimator`; None: `DEFAULT_MODEL`.
        out_dir: where to write `keypoints.json` and the drawings; None writes
            nothing and only returns the results.
        keypoint_set: name or `KeypointSet`; default the model's own.
        score_threshold: joints scoring at or below it are not drawn. Default 0.3.
        num_threads: CPU threads for LiteRT / onnxruntime.
        boxes: `[x, y, w, h]` person boxes (original-image pixels) used for
            every image and frame; None (and no `boxes_file`): one person found
            in the whole frame.
        boxes_file: COCO detection-results JSON (see `PersonBoxes`); an input
            with no box in it has no person.
        box_score_threshold: boxes of `boxes_file` scoring below it are dropped.
        passes: passes of the search for a person without a box (the whole
            frame, then crops around the joints found; `kerashg.cropping`).
        flip: the flip test on every person crop (one more model run each);
            None: on where the model gives heatmaps and its keypoint set is
            known (`PoseEstimator`).
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
    input_path = pathlib.Path(input_path)
    kind = _input_kind(input_path)
    smoothing = dict(min_cutoff=smooth_min_cutoff, beta=smooth_beta, d_cutoff=smooth_d_cutoff)
    _check_request(input_path, kind, output_format, smooth, smoothing, boxes, boxes_file)
    files = _image_files(input_path, kind)
    run = _Run(
        input_path=input_path,
        kind=kind,
        files=files,
        boxes=None if boxes is None else [check_box(box, "--box") for box in boxes],
        detections=_detections(boxes_file, box_score_threshold, files),
        out=None if out_dir is None else pathlib.Path(out_dir),
        coco=output_format == "coco",
        score_threshold=score_threshold,
        video_masks=video_masks,
    )
    options = dict(keypoint_set=keypoint_set, num_threads=num_threads, passes=passes, flip=flip)
    estimator = _open_estimator(run, model, force, options)
    fps = None
    if files is not None:
        _predict_images(run, estimator)
    else:
        fps = _predict_video(run, estimator, smooth, smoothing)
    filtered = {"filter": "one euro", "fps": round(float(fps), 3), **smoothing} if smooth else None
    report = _report(run, estimator, filtered)
    _write_reports(run, report)
    return report


def _check_request(input_path, kind, output_format, smooth, smoothing, boxes, boxes_file):
    """Refuses options that do not fit the input or each other, before any work."""
    if output_format not in OUTPUT_FORMATS:
        raise InputError(f"expected one of {OUTPUT_FORMATS}. Received: {output_format!r}")
    if output_format == "coco" and kind == "video":
        _check_coco(None, kind)
    _check_smoothing(smooth, kind, input_path, smoothing)
    if boxes is not None and boxes_file is not None:
        raise InputError("give person boxes either as `boxes` (--box) or `boxes_file` (--boxes)")


def _open_estimator(run: _Run, model, force: bool, options: dict) -> PoseEstimator:
    """The `PoseEstimator` of `model`, the outputs checked before and after it loads."""
    if not isinstance(model, PoseEstimator):
        model = resolve_model(model)
    if run.kind == "video" and run.out is not None:
        run.video_suffix, run.fourcc, note = video_container(run.input_path.suffix)
        if note:
            print(f"note: {note}", file=sys.stderr)
    run.check_outputs(model, force, masks=False)  # before the model is loaded...
    estimator = model if isinstance(model, PoseEstimator) else PoseEstimator(model, **options)
    if run.coco:
        _check_coco(estimator.keypoint_set, run.kind)
    # ... and with the mask panels of a model that has masks, before any image.
    masks = run.files is not None and estimator.runner.has_masks
    run.check_outputs(model, force, masks=masks)
    if run.out is not None:
        run.out.mkdir(parents=True, exist_ok=True)
    return estimator


def _write_reports(run: _Run, report: dict) -> None:
    """keypoints.json (and coco_results.json) in --out; the COCO results are made
    (and checked: every image has an id) without --out too."""
    if run.coco:
        entries = coco_results(run.results)
        if run.out is not None:
            (run.out / COCO_RESULTS).write_text(json.dumps(entries))
    if run.out is not None:
        (run.out / "keypoints.json").write_text(json.dumps(report, indent=1))


def build_parser():
    """The command line (imports no TensorFlow, Keras, LiteRT or OpenCV)."""
    parser = cli.parser("python -m kerashg.predict", __doc__)
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument(
        "--model",
        default=None,
        help=".keras, SavedModel folder, .tflite or .onnx, or a trained preset's name "
        f"(default: the shipped {DEFAULT_MODEL.name}); .tflite and .onnx run without "
        "TensorFlow",
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
        "--out), COCO keypoint results for `python -m kerashg.evaluate --dataset coco`; "
        "images and a 17-keypoint COCO model only; the image id is the --boxes entry's "
        "or the number in the file name",
    )
    parser.add_argument(
        "--keypoint-set",
        default=None,
        choices=tuple(KEYPOINT_SETS),
        help="the model's joints, for the skeleton and the JSON names (default: the set "
        "the model records; for a file saved before models recorded it, the set with its "
        "joint count: 14 lsp, 16 mpii, 17 coco)",
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
        "--passes",
        type=int,
        default=DEFAULT_PASSES,
        help="without a box: passes of the search for the person, the whole frame first, "
        "then each a crop around the joints the last found (as training crops: their box "
        "padded 1.25x); 1 = the whole frame only",
    )
    parser.add_argument(
        "--no-flip",
        dest="flip",
        action="store_false",
        default=None,
        help="skip the flip test (on by default where the model's keypoint set is known: "
        "each person crop and its mirror image, averaged; one more model run per person)",
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
    cli.check_positive(args, "passes")
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
        passes=args.passes,
        flip=args.flip,
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
