"""Verification of an exported artifact against the Keras model it came from.

For each artifact the report gives: the maximum absolute difference of the
last stage's heatmaps from Keras's (the `heatmaps` signature), the share of
joints whose decoded position (the artifact's own `keypoints` signature, i.e.
the decoding inside its graph) lies within one heatmap pixel of Keras's, the
file size and the median single-image latency of the `heatmaps` signature.

Tolerances: float32 formats must match the heatmaps to 1e-4; quantised models
(float16, int8) are judged by their decoded joints, since their heatmaps differ
by design.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import time

import numpy as np

from export._files import path_size

# Per precision: maximum heatmap difference (None: not judged) and minimum share
# of joints within one heatmap pixel of Keras's.
TOLERANCES = {
    "float32": {"max_abs_heatmap_diff": 1e-4, "min_joint_agreement": 0.99},
    "float16": {"max_abs_heatmap_diff": None, "min_joint_agreement": 0.95},
    "int8": {"max_abs_heatmap_diff": None, "min_joint_agreement": 0.90},
}
DEFAULT_THREADS = 2


class ExportVerificationError(RuntimeError):
    """An artifact's parity with Keras is outside tolerance; `.report` has the details."""

    def __init__(self, report: dict):
        self.report = report
        failures = "; ".join(report.get("failures", [])) or "see report"
        super().__init__(f"{report.get('path')}: verification failed: {failures}")


def median_latency_ms(function, warmup: int = 3, runs: int = 20) -> float:
    """Median wall time of `function()` in milliseconds over `runs` calls after `warmup`
    untimed ones (the one timing loop of the exports and `benchmarks`)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(statistics.median(times))


def to_uint8(images) -> np.ndarray:
    """float [0, 1] images → uint8 (round to nearest)."""
    return np.clip(np.round(np.asarray(images, np.float32) * 255.0), 0, 255).astype(np.uint8)


def joint_agreement(keypoints, reference, stride) -> float:
    """Share of joints whose (x, y) is within one heatmap pixel (Euclidean) of `reference`.

    Args:
        keypoints, reference: (N, K, >=2), x, y in input pixels.
        stride: (sx, sy) input pixels per heatmap pixel.
    """
    keypoints = np.asarray(keypoints, np.float64)
    reference = np.asarray(reference, np.float64)
    dx = (keypoints[..., 0] - reference[..., 0]) / stride[0]
    dy = (keypoints[..., 1] - reference[..., 1]) / stride[1]
    return float(np.mean(np.hypot(dx, dy) <= 1.0 + 1e-6))


class KerasReference:
    """Keras heatmaps and decoded keypoints of a set of images, computed once.

    The images are rounded to uint8 first (`to_uint8`), as the `keypoints`
    signatures take them (and the ONNX graph's one input), so that every
    comparison is on the same pixels; `images` holds them as float32 / 255.
    The keypoints are `model.codec.decode_numpy` of the heatmaps (the NumPy
    decoder, independent of the artifacts' in-graph decoding).

    Args:
        model: the Keras model (or a `.keras` path).
        images: float32 (N, H, W, 3) in [0, 1].
    """

    def __init__(self, model, images):
        from kerashg.runtime import KerasRunner

        self.runner = KerasRunner(model)
        self.codec = self.runner.codec
        self.uint8 = to_uint8(images)
        self.images = self.uint8.astype(np.float32) / np.float32(255.0)
        outputs = self.runner.heatmaps(self.images)
        self.heatmaps = outputs["heatmaps"]
        self.masks = outputs.get("masks")
        self.keypoints = self.codec.decode_numpy(self.heatmaps)


def verify(
    reference,
    artifact: str | os.PathLike,
    images=None,
    *,
    precision: str = "float32",
    tolerance: dict | None = None,
    num_threads: int = DEFAULT_THREADS,
    latency_runs: int = 20,
    raise_on_failure: bool = False,
    name: str | None = None,
    runner=None,
) -> dict:
    """Compares an artifact with its Keras model and measures size and latency.

    Args:
        reference: the Keras model, a `.keras` path, or a `KerasReference`
            (reuse one across artifacts to compute Keras's outputs once).
        artifact: SavedModel folder, `.tflite` or `.onnx` file.
        images: float32 (N, H, W, 3) in [0, 1]; required unless `reference` is a
            `KerasReference`.
        precision: "float32", "float16" or "int8": selects the tolerance.
        tolerance: overrides `TOLERANCES[precision]`.
        num_threads: CPU threads of the runtime (LiteRT, onnxruntime).
        latency_runs: timed single-image calls.
        raise_on_failure: raise `ExportVerificationError` when outside tolerance.
        name: label of the artifact in the report (default: file name).
        runner: the artifact opened already, a `kerashg.runtime.Runner` (default:
            `kerashg.runtime.load_runner(artifact)`; a TensorRT engine passes
            `export.tensorrt.TensorRTRunner`, which the library does not know).

    Returns:
        dict (JSON-able): `name`, `path`, `format`, `precision`, `size_bytes`,
        `max_abs_heatmap_diff`, `max_abs_mask_diff` (ACNN), `joint_agreement`,
        `codec` (the artifact's recorded codec config; it must be the model's),
        `median_latency_ms`, `threads`, `num_images`, `tolerance`, `passed`,
        `failures`.
    """
    if precision not in TOLERANCES:
        raise ValueError(f"precision must be one of {tuple(TOLERANCES)}. Received: {precision!r}")
    if not isinstance(reference, KerasReference):
        if images is None:
            raise ValueError("verify needs images unless reference is a KerasReference")
        reference = KerasReference(reference, images)
    tolerance = dict(tolerance or TOLERANCES[precision])
    artifact = pathlib.Path(artifact)
    runner = _open_runner(artifact, reference, num_threads, runner)
    heatmap_diff, mask_diff, agreement = _parity(runner, reference)
    one = reference.images[:1]
    latency = median_latency_ms(lambda: runner.heatmaps(one), runs=latency_runs)
    failures = _failures(runner, reference, tolerance, heatmap_diff, mask_diff, agreement)
    report = {
        "name": name or artifact.name,
        "path": str(artifact),
        "format": runner.format,
        "precision": precision,
        "size_bytes": path_size(artifact),
        "max_abs_heatmap_diff": heatmap_diff,
        "max_abs_mask_diff": mask_diff,
        "joint_agreement": agreement,
        "codec": runner.codec_config,
        "median_latency_ms": latency,
        "threads": num_threads,
        "num_images": len(reference.images),
        "tolerance": tolerance,
        "passed": not failures,
        "failures": failures,
    }
    if failures and raise_on_failure:
        raise ExportVerificationError(report)
    return report


def _open_runner(artifact: pathlib.Path, reference: KerasReference, num_threads: int, runner):
    """`runner`, or `artifact` opened by `kerashg.runtime.load_runner`; ValueError where
    its input size is not the Keras model's."""
    from kerashg.runtime import load_runner

    if runner is None:
        runner = load_runner(artifact, num_threads=num_threads)
    if tuple(runner.input_size) != tuple(reference.runner.input_size):
        raise ValueError(
            f"{artifact}: input size {runner.input_size} differs from the Keras model's "
            f"{reference.runner.input_size}"
        )
    return runner


def _parity(runner, reference: KerasReference) -> tuple[float, float | None, float]:
    """`(heatmap_diff, mask_diff, agreement)`: the largest |artifact - Keras| of the last
    stage's heatmaps and (ACNN; else None) masks, and the share of the artifact's
    decoded joints within one heatmap pixel of Keras's (`joint_agreement`)."""
    outputs = runner.heatmaps(reference.images)
    heatmap_diff = float(np.max(np.abs(outputs["heatmaps"] - reference.heatmaps)))
    mask_diff = None
    if reference.masks is not None and "masks" in outputs:
        mask_diff = float(np.max(np.abs(outputs["masks"] - reference.masks)))
    keypoints = runner.keypoints(reference.uint8)
    agreement = joint_agreement(keypoints, reference.keypoints, reference.codec.stride)
    return heatmap_diff, mask_diff, agreement


def _failures(
    runner,
    reference: KerasReference,
    tolerance: dict,
    heatmap_diff: float,
    mask_diff: float | None,
    agreement: float,
) -> list[str]:
    """What is outside `tolerance` (or a codec other than the model's), one line each."""
    failures = []
    if runner.codec_config != reference.codec.get_config():
        failures.append(
            f"codec recorded {runner.codec_config} != the model's {reference.codec.get_config()}"
        )
    limit = tolerance.get("max_abs_heatmap_diff")
    if limit is not None and not heatmap_diff <= limit:
        failures.append(f"max |heatmap - keras| = {heatmap_diff:.3g} > {limit:.3g}")
    if mask_diff is not None and limit is not None and not mask_diff <= limit:
        failures.append(f"max |mask - keras| = {mask_diff:.3g} > {limit:.3g}")
    if not agreement >= tolerance["min_joint_agreement"]:
        failures.append(
            f"joints within 1 heatmap px of keras = {agreement:.3f} "
            f"< {tolerance['min_joint_agreement']:.3f}"
        )
    return failures


def keras_entry(reference: KerasReference, model_path=None, latency_runs: int = 20) -> dict:
    """The reference row of a report: the Keras model's own size and latency."""
    one = reference.images[:1]
    latency = median_latency_ms(lambda: reference.runner.heatmaps(one), runs=latency_runs)
    return {
        "name": "keras",
        "path": str(model_path) if model_path else None,
        "format": "keras",
        "precision": "float32",
        "size_bytes": path_size(model_path) if model_path else None,
        "median_latency_ms": latency,
        "num_params": int(reference.runner.model.count_params()),
    }


def format_report(entries) -> str:
    """A plain-text table of report entries."""
    header = (
        f"{'artifact':<28} {'format':<10} {'prec':<8} {'size MB':>8} {'latency ms':>11} "
        f"{'max|dH|':>10} {'joints<=1px':>11}  status"
    )
    lines = [header, "-" * len(header)]
    for e in entries:

        def number(key, fmt, entry=e):
            value = entry.get(key)
            return format(value, fmt) if isinstance(value, (int, float)) else "-"

        size = e.get("size_bytes")
        size_text = f"{size / 1e6:8.2f}" if isinstance(size, (int, float)) else f"{'-':>8}"
        status = (
            "reference"
            if e.get("format") == "keras"
            else e.get("skipped")
            and f"skipped: {e['skipped']}"
            or ("ok" if e.get("passed") else "FAILED: " + "; ".join(e.get("failures", [])))
        )
        lines.append(
            f"{e.get('name', '?'):<28} {e.get('format', '?'):<10} {e.get('precision', '-'):<8} "
            f"{size_text} {number('median_latency_ms', '11.2f'):>11} "
            f"{number('max_abs_heatmap_diff', '10.2e'):>10} "
            f"{number('joint_agreement', '11.3f'):>11}  {status}"
        )
    return "\n".join(lines)
