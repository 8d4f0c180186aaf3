"""Inference on images, folders and videos from any exported artifact.

    python -m kerashg.predict INPUT --model ARTIFACT [--out DIR]

`ARTIFACT` is a `.keras` file, a SavedModel folder (from `python -m export`), a
`.tflite` file or an `.onnx` file; each is run by a small runner class behind
one interface (`Runner`). LiteRT and onnxruntime are imported only when such a
file is opened, so the library works without the export extras.

Without a person box the whole frame is the person: `center` = frame centre,
`scale` = longer side / `PIXEL_STD`, so the crop is the frame letterboxed into
the model input. Keypoints decoded in crop pixels are mapped back to the frame
with the inverse of the crop transform (`kerashg.transforms`).

Outputs in `--out`: `keypoints.json` (every image / frame, x, y in frame
pixels and a score per joint), the images with the skeleton drawn
(`<name>_pose.jpg`), for ACNN the attention masks of every stage over the crop
(`<name>_masks.jpg`, as in the paper's Fig. 6), and for a video an annotated
copy (`<name>_pose.mp4`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np

from kerashg import transforms
from kerashg.keypoints import KEYPOINT_SETS, KeypointSet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


# ------------------------------------------------------------------- runners
class Runner:
    """One interface over every artifact format.

    Attributes:
        format: short format name ("keras", "savedmodel", "tflite", "onnx").
        input_size: (width, height) of the model input.
        has_masks: whether `heatmaps` also returns ACNN masks.
    """

    format = "base"

    def __init__(self):
        self.input_size = None
        self.has_masks = False

    def heatmaps(self, images) -> dict:
        """float32 images (B, H, W, 3) in [0, 1] → {"heatmaps": (B, h, w, K)
        last stage[, "masks": (B, S, h, w, 1)]} as NumPy arrays."""
        raise NotImplementedError

    def keypoints(self, images) -> np.ndarray:
        """uint8 images (B, H, W, 3) RGB → (B, K, 3): x, y in input pixels, score."""
        raise NotImplementedError


def _batched(function, images):
    """Runs a batch-1 function over every image and stacks the outputs."""
    outputs = [function(images[i : i + 1]) for i in range(len(images))]
    if isinstance(outputs[0], dict):
        return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}
    return np.concatenate(outputs)


class KerasRunner(Runner):
    """A `.keras` file (or a model object): heatmaps from the model, decoding in TF.

    Args:
        model: path of a `.keras` file or a built kerashg model.
        codec: `HeatmapCodec`; default from the model's input size (stride 4).
    """

    format = "keras"

    def __init__(self, model, codec=None):
        super().__init__()
        import keras

        import kerashg  # noqa: F401  (registers the kerashg layers for loading)
        from kerashg.codec import HeatmapCodec

        if not isinstance(model, keras.Model):
            model = keras.saving.load_model(str(model), compile=False)
        self.model = model
        shape = model.input_shape
        self.input_size = (int(shape[2]), int(shape[1]))
        self.codec = codec or HeatmapCodec(input_size=self.input_size)
        self.has_masks = "masks" in model.output
        self._predict = None

    def _outputs(self, images):
        import tensorflow as tf

        if self._predict is None:
            self._predict = tf.function(lambda x: self.model(x, training=False))
        return self._predict(tf.convert_to_tensor(images, tf.float32))

    def heatmaps(self, images):
        outputs = self._outputs(np.asarray(images, np.float32))
        result = {"heatmaps": np.asarray(outputs["heatmaps"][:, -1], np.float32)}
        if self.has_masks:
            result["masks"] = np.asarray(outputs["masks"], np.float32)
        return result

    def keypoints(self, images):
        floats = np.asarray(images, np.float32) / 255.0
        heatmaps = self._outputs(floats)["heatmaps"][:, -1]
        return np.asarray(self.codec.decode(heatmaps), np.float32)


class SavedModelRunner(Runner):
    """A SavedModel folder with the `heatmaps` and `keypoints` signatures."""

    format = "savedmodel"

    def __init__(self, path):
        super().__init__()
        import tensorflow as tf

        # Keep the loaded object: its signatures stop working once it is collected.
        self.loaded = tf.saved_model.load(str(path))
        missing = {"heatmaps", "keypoints"} - set(self.loaded.signatures)
        if missing:
            raise ValueError(
                f"SavedModel {path} lacks the serving signatures {sorted(missing)}; "
                f"found {sorted(self.loaded.signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.loaded.signatures["heatmaps"]
        self._keypoints = self.loaded.signatures["keypoints"]
        spec = self._heatmaps.structured_input_signature[1]["images"]
        self.input_size = (int(spec.shape[2]), int(spec.shape[1]))
        self.has_masks = "masks" in self._heatmaps.structured_outputs

    def heatmaps(self, images):
        import tensorflow as tf

        outputs = self._heatmaps(images=tf.convert_to_tensor(images, tf.float32))
        return {key: value.numpy() for key, value in outputs.items()}

    def keypoints(self, images):
        import tensorflow as tf

        outputs = self._keypoints(images=tf.convert_to_tensor(images, tf.uint8))
        return outputs["keypoints"].numpy()


class TFLiteRunner(Runner):
    """A `.tflite` file with both signatures, run by LiteRT (batch 1)."""

    format = "tflite"

    def __init__(self, path, num_threads=None):
        super().__init__()
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        missing = {"heatmaps", "keypoints"} - set(signatures)
        if missing:
            raise ValueError(
                f"TFLite file {path} lacks the signatures {sorted(missing)}; found "
                f"{sorted(signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.interpreter.get_signature_runner("heatmaps")
        self._keypoints = self.interpreter.get_signature_runner("keypoints")
        shape = self._heatmaps.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in signatures["heatmaps"]["outputs"]

    def heatmaps(self, images):
        images = np.asarray(images, np.float32)
        return _batched(lambda x: dict(self._heatmaps(images=x)), images)

    def keypoints(self, images):
        images = np.asarray(images, np.uint8)
        return _batched(lambda x: self._keypoints(images=x)["keypoints"], images)


class ONNXRunner(Runner):
    """An `.onnx` file (input `images` float32, outputs `heatmaps`, `keypoints`[, `masks`])."""

    format = "onnx"

    def __init__(self, path, num_threads=None):
        super().__init__()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.outputs = [o.name for o in self.session.get_outputs()]
        missing = {"heatmaps", "keypoints"} - set(self.outputs)
        if missing:
            raise ValueError(f"ONNX file {path} lacks the outputs {sorted(missing)}")
        shape = self.session.get_inputs()[0].shape
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in self.outputs

    def _run(self, names, images):
        values = self.session.run(names, {self.input_name: np.asarray(images, np.float32)})
        return dict(zip(names, values, strict=True))

    def heatmaps(self, images):
        names = ["heatmaps"] + (["masks"] if self.has_masks else [])
        return self._run(names, images)

    def keypoints(self, images):
        floats = np.asarray(images, np.float32) / 255.0
        return self._run(["keypoints"], floats)["keypoints"]


def load_runner(artifact, num_threads=None) -> Runner:
    """Opens `artifact` with the runner of its format.

    Args:
        artifact: path of a `.keras` file, a SavedModel folder, a `.tflite` or
            an `.onnx` file (or a Keras model object).
        num_threads: CPU threads for LiteRT and onnxruntime (None: their default).
    """
    import keras

    if isinstance(artifact, keras.Model):
        return KerasRunner(artifact)
    path = pathlib.Path(artifact)
    if not path.exists():
        raise FileNotFoundError(f"model artifact not found: {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ValueError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
        return SavedModelRunner(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasRunner(path)
    if suffix == ".tflite":
        return TFLiteRunner(path, num_threads)
    if suffix == ".onnx":
        return ONNXRunner(path, num_threads)
    raise ValueError(
        f"Unknown model artifact format. Received: model={str(path)!r}; expected a .keras, "
        ".tflite or .onnx file or a SavedModel folder"
    )


# --------------------------------------------------------------- prediction
def guess_keypoint_set(num_keypoints: int) -> KeypointSet | None:
    """The built-in keypoint set with `num_keypoints` joints (16 MPII, 17 COCO, 14 LSP)."""
    for keypoint_set in KEYPOINT_SETS.values():
        if keypoint_set.num_keypoints == num_keypoints:
            return keypoint_set
    return None


def whole_frame_box(width: int, height: int) -> tuple[np.ndarray, float]:
    """center (frame centre) and scale (longer side / PIXEL_STD) of a whole frame.

    Pixel centres are at integers, so the frame spans [-0.5, size - 0.5] and
    its centre is at (size - 1) / 2.
    """
    center = np.array([(width - 1) / 2.0, (height - 1) / 2.0], np.float64)
    return center, max(width, height) / transforms.PIXEL_STD


def predict_frame(runner: Runner, frame_rgb, center=None, scale=None, with_masks=False) -> dict:
    """Keypoints of one person in one frame.

    Args:
        runner: a `Runner`.
        frame_rgb: uint8 (H, W, 3) RGB.
        center, scale: the person box (hourglass convention); default the whole frame.
        with_masks: also return the ACNN masks and the crop (when the model has masks).

    Returns:
        dict with `keypoints` float32 (K, 3) x, y in frame pixels and score,
        `crop` uint8 (h, w, 3) RGB model input, and `masks` (S, h/4, w/4) if asked.
    """
    frame_rgb = np.asarray(frame_rgb)
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) RGB. Received: shape={frame_rgb.shape}")
    height, width = frame_rgb.shape[:2]
    if center is None or scale is None:
        center, scale = whole_frame_box(width, height)
    size = runner.input_size
    crop = transforms.crop_image(frame_rgb, center, scale, 0.0, size)
    crop_keypoints = runner.keypoints(crop[None])[0]
    inverse = transforms.get_affine_transform(center, scale, 0.0, size, inverse=True)
    keypoints = crop_keypoints.astype(np.float64).copy()
    keypoints[:, :2] = transforms.transform_points(crop_keypoints[:, :2], inverse)
    result = {"keypoints": keypoints.astype(np.float32), "crop": crop}
    if with_masks and runner.has_masks:
        masks = runner.heatmaps(crop[None].astype(np.float32) / 255.0)["masks"][0]
        result["masks"] = masks[..., 0]
    return result


def _input_kind(path: pathlib.Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise ValueError(
        f"Unknown input. Received: input={str(path)!r}; expected an image "
        f"({', '.join(IMAGE_SUFFIXES)}), a video ({', '.join(VIDEO_SUFFIXES)}) or a folder"
    )


def _read_rgb(path: pathlib.Path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"could not read image {path} (missing, unreadable or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def predict(
    input_path: str | os.PathLike,
    model,
    out_dir: str | os.PathLike | None = None,
    *,
    keypoint_set: str | KeypointSet | None = None,
    score_threshold: float = 0.0,
    num_threads: int | None = None,
) -> dict:
    """Runs a model on an image, a folder of images or a video and writes the results.

    Args:
        input_path: image file, folder of images, or video file (cv2.VideoCapture).
        model: artifact path (`.keras`, SavedModel folder, `.tflite`, `.onnx`)
            or a `Runner`.
        out_dir: where to write `keypoints.json` and the drawings; None writes
            nothing and only returns the results.
        keypoint_set: for the skeleton drawing; default guessed from the joint count.
        score_threshold: joints scoring at or below it are not drawn.
        num_threads: CPU threads for LiteRT / onnxruntime.

    Returns:
        dict: `model`, `keypoint_set`, `results` — one entry per image or frame
        with `image` (file name), `frame` (video frame index or None) and
        `keypoints` (K lists of [x, y, score], x, y in that image's pixels).
    """
    import cv2

    from kerashg import draw
    from kerashg.keypoints import get_keypoint_set

    input_path = pathlib.Path(input_path)
    if not input_path.exists():
        raise FileNotFoundError(f"input not found: {input_path}")
    kind = _input_kind(input_path)
    runner = model if isinstance(model, Runner) else load_runner(model, num_threads)
    out = pathlib.Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    names = None if keypoint_set is None else get_keypoint_set(keypoint_set)
    results = []

    def handle(frame_rgb, name, frame_index, writer=None):
        nonlocal names
        result = predict_frame(runner, frame_rgb, with_masks=out is not None and writer is None)
        keypoints = result["keypoints"]
        if names is None:
            names = guess_keypoint_set(len(keypoints))
        results.append(
            {
                "image": name,
                "frame": frame_index,
                "keypoints": [[round(float(v), 3) for v in joint] for joint in keypoints],
            }
        )
        if out is None:
            return
        bgr = cv2.cvtColor(np.asarray(frame_rgb, np.uint8), cv2.COLOR_RGB2BGR)
        drawn = draw.draw_skeleton(bgr, keypoints, names, score_threshold)
        if writer is not None:
            writer.write(drawn)
            return
        stem = pathlib.Path(name).stem
        cv2.imwrite(str(out / f"{stem}_pose.jpg"), drawn)
        if "masks" in result:
            crop_bgr = cv2.cvtColor(result["crop"], cv2.COLOR_RGB2BGR)
            cv2.imwrite(
                str(out / f"{stem}_masks.jpg"), draw.overlay_masks(crop_bgr, result["masks"])
            )

    if kind == "image":
        handle(_read_rgb(input_path), input_path.name, None)
    elif kind == "folder":
        files = sorted(p for p in input_path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {input_path}")
        for path in files:
            handle(_read_rgb(path), path.name, None)
    else:
        capture = cv2.VideoCapture(str(input_path))
        if not capture.isOpened():
            raise ValueError(f"could not open video {input_path}")
        writer = None
        try:
            index = 0
            while True:
                ok, frame_bgr = capture.read()
                if not ok:
                    break
                if out is not None and writer is None:
                    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
                    height, width = frame_bgr.shape[:2]
                    writer = cv2.VideoWriter(
                        str(out / f"{input_path.stem}_pose.mp4"),
                        cv2.VideoWriter_fourcc(*"mp4v"),
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
            raise ValueError(f"video {input_path} has no readable frame")
    report = {
        "model": str(model) if not isinstance(model, Runner) else runner.format,
        "format": runner.format,
        "keypoint_set": names.name if names is not None else None,
        "joint_names": list(names.names) if names is not None else None,
        "coordinates": "x, y in pixels of the input image (0-based), score = heatmap peak",
        "results": results,
    }
    if out is not None:
        (out / "keypoints.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kerashg.predict",
        description="Pose keypoints of an image, a folder of images or a video.",
    )
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument(
        "--model", required=True, help=".keras, SavedModel folder, .tflite or .onnx"
    )
    parser.add_argument("--out", default=None, help="output folder (default: print JSON only)")
    parser.add_argument(
        "--keypoint-set", default=None, help="mpii, coco or lsp (default: from joint count)"
    )
    parser.add_argument("--score-threshold", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (LiteRT, ONNX)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = predict(
        args.input,
        args.model,
        args.out,
        keypoint_set=args.keypoint_set,
        score_threshold=args.score_threshold,
        num_threads=args.threads,
    )
    seconds = time.perf_counter() - start
    count = len(report["results"])
    if args.out is None:
        print(json.dumps(report, indent=1))
    else:
        print(f"wrote {args.out}/keypoints.json ({count} images or frames)")
    print(f"{count} images or frames in {seconds:.1f} s with {report['format']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
