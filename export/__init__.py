"""Export of kerashg models to SavedModel, TFLite, ONNX and TensorRT, with verification.

Python API (the CLI `python -m export` is a thin front over `export_model`):

    import export
    export.to_savedmodel(model, "out/model_savedmodel")
    export.to_tflite(model, "out/model_int8.tflite", quantize="int8", calibration=images)
    export.to_onnx(model, "out/model.onnx")
    export.to_tensorrt("out/model.onnx", "out/model_fp16.engine", precision="fp16")
    export.verify(model, "out/model_int8.tflite", images, precision="int8")
    report = export.export_model("model.keras", "out", formats=("savedmodel", "tflite"))

Every artifact is written under a temporary name in its folder, verified
against Keras, and only then renamed into place; an existing output is not
replaced without `force=True`. `<out>/report.json` lists every artifact.
Each format is one exporter with the same contract (`export.exporter.Exporter`):
`export.savedmodel.SavedModelExporter`, `export.tflite.TFLiteExporter` (with
the int8 recipe fallbacks), `export.onnx.ONNXExporter`,
`export.tensorrt.TensorRTExporter`; `export_model` runs them in turn.

`import export` imports no TensorFlow: the converters (`to_savedmodel`,
`to_tflite`, `to_onnx`) and the modules `export.savedmodel`, `export.tflite`,
`export.onnx` and `export.calibration` load on first use, so that
`python -m export --help` answers at once.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Sequence

from export._files import OutputExistsError, atomic_output, check_writable
from export.exporter import Artifact, Exporter, ExportJob, artifact_plan
from export.options import (
    DEFAULT_CALIBRATION_STEPS,
    FORMATS,
    INT8_RECIPES,
    QUANTIZE,
)
from export.tensorrt import (
    TensorRTExporter,
    TensorRTUnavailableError,
    tensorrt_status,
    tftrt_status,
    to_tensorrt,
)
from export.tensorrt_check import check_onnx_for_tensorrt
from export.verify import (
    DEFAULT_THREADS,
    ExportVerificationError,
    KerasReference,
    format_report,
    keras_entry,
    verify,
)
from kerashg.cli import lazy_attributes
from kerashg.model_file import load_keras_model

# Names that import TensorFlow, loaded on first access (PEP 562).
_LAZY = {
    "ONNXExporter": "export.onnx",
    "SavedModelExporter": "export.savedmodel",
    "TFLiteExporter": "export.tflite",
    "to_onnx": "export.onnx",
    "save_serving_model": "export.savedmodel",
    "to_savedmodel": "export.savedmodel",
    "to_tflite": "export.tflite",
}
_LAZY_MODULES = ("calibration", "onnx", "savedmodel", "tflite")


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, _LAZY_MODULES)


class ExportError(RuntimeError):
    """At least one artifact failed; `.report` is the full report (also in report.json)."""

    def __init__(self, report: dict):
        self.report = report
        failed = [e["name"] for e in report["artifacts"] if e.get("passed") is False]
        super().__init__(f"export failed for {', '.join(failed)}; see {report.get('report_path')}")


def artifact_paths(
    out: str | os.PathLike, stem: str, formats: Sequence[str], quantize: Sequence[str]
) -> dict:
    """`{name: path}` of every artifact `export_model` writes."""
    plan = artifact_plan(out, stem, formats, quantize)
    return {a.name: a.path for artifacts in plan.values() for a in artifacts}


def _check_choices(name: str, values: Sequence[str], choices: Sequence[str], empty_ok: bool):
    if set(values) - set(choices) or not (values or empty_ok):
        subset = "a subset" if empty_ok else "a non-empty subset"
        raise ValueError(f"{name} must be {subset} of {choices}. Received: {values}")


def export_model(
    model,
    out: str | os.PathLike,
    *,
    formats: Sequence[str] = ("savedmodel", "tflite", "onnx"),
    quantize: Sequence[str] = (),
    calibration_data="synthetic",
    force: bool = False,
    num_calibration: int = DEFAULT_CALIBRATION_STEPS,
    num_verify: int = 8,
    num_threads: int = DEFAULT_THREADS,
    latency_runs: int = 20,
    stem: str | None = None,
    log=print,
    verify_gate: bool = True,
    int8_recipes: Sequence[str] = INT8_RECIPES,
) -> dict:
    """Exports a model to every requested format, verifies each file, writes report.json.

    One exporter per format (`export.exporter.Exporter`: `SavedModelExporter`,
    `TFLiteExporter`, `ONNXExporter`, `TensorRTExporter`), run in `FORMATS` order.

    Args:
        model: a kerashg Keras model or the path of a `.keras` file.
        out: output folder.
        formats: any of "savedmodel", "tflite", "onnx", "tensorrt".
        quantize: any of "float16", "int8": extra TFLite (and TensorRT) precisions
            besides float32.
        calibration_data: "synthetic", "mpii", "coco", "lsp", a folder of images, or an
            array of float32 images (N, H, W, 3) in [0, 1]: int8 calibration, and
            (a disjoint range for synthetic) verification images.
        force: overwrite existing artifacts (otherwise FileExistsError before any work).
        num_calibration: calibration images for int8.
        num_verify: images for the parity checks.
        num_threads: threads of LiteRT / onnxruntime for the latency figures.
        latency_runs: timed calls per artifact.
        stem: base name of the files (default: the `.keras` file's stem, or "model").
        log: callable for progress lines (None: silent).
        verify_gate: reject artifacts outside tolerance (default). False keeps
            them and only records the figures (benchmarks on random weights).
        int8_recipes: int8 recipes tried in order until one passes verification
            (default `export.options.INT8_RECIPES`: the percentile recipe first);
            the report lists every attempt.

    Returns:
        the report dict (also at `<out>/report.json`): `model`, `report_path`,
        `artifacts` (one entry per artifact: path, size, parity, latency,
        passed), `tensorrt_operator_check`.

    Raises:
        OutputExistsError (a FileExistsError): an output exists and `force` is
            False.
        ExportError: an artifact failed its verification (the report is written
            first; the failed file is not left in place).
    """
    _check_arguments(formats, quantize, int8_recipes, calibration_data)
    model_path = pathlib.Path(model) if isinstance(model, (str, os.PathLike)) else None
    stem = stem or (model_path.stem if model_path else "model")
    out = pathlib.Path(out)
    plan, report_path = _planned_outputs(out, stem, formats, quantize, force)
    if model_path is not None:
        model = load_keras_model(model_path)
    out.mkdir(parents=True, exist_ok=True)

    # TensorFlow loads only now that the input is known good (here and in the exporters).
    from kerashg.serving import model_input_size

    input_size = model_input_size(model)
    source, calibration, held_out = _images(
        calibration_data, input_size, num_calibration, num_verify
    )
    log = log or (lambda *_: None)
    log(f"{len(calibration)} calibration and {len(held_out)} verification images from {source}")
    reference = KerasReference(model, held_out)
    entries = [keras_entry(reference, model_path, latency_runs)]
    report = {
        "model": str(model_path) if model_path else model.name,
        "input_size": list(input_size),
        "calibration_data": source,
        "report_path": str(report_path),
        "artifacts": entries,
        "tensorrt_operator_check": None,
    }
    with tempfile.TemporaryDirectory(prefix="kerashg-export-") as work:
        job = ExportJob(
            model=model,
            reference=reference,
            calibration=calibration,
            work=pathlib.Path(work),
            report=report,
            stem=stem,
            force=force,
            num_threads=num_threads,
            latency_runs=latency_runs,
            verify_gate=verify_gate,
            int8_recipes=tuple(int8_recipes),
            log=log,
        )
        _run_exporters(plan, job)

    _write_report(report, report_path, log)
    if verify_gate and any(e.get("passed") is False for e in entries):
        raise ExportError(report)
    return report


def _check_arguments(
    formats: Sequence[str],
    quantize: Sequence[str],
    int8_recipes: Sequence[str],
    calibration_data,
) -> None:
    """`export_model`'s choices and calibration source, checked before the (slow) model load."""
    from export import calibration as calib

    _check_choices("formats", formats, FORMATS, empty_ok=False)
    _check_choices("quantize", quantize, QUANTIZE, empty_ok=True)
    _check_choices("int8_recipes", int8_recipes, INT8_RECIPES, empty_ok=False)
    if isinstance(calibration_data, (str, os.PathLike)):
        calib.check_source(calibration_data)


def _planned_outputs(
    out: pathlib.Path, stem: str, formats: Sequence[str], quantize: Sequence[str], force: bool
) -> tuple[dict[str, list[Artifact]], pathlib.Path]:
    """`(plan, report_path)`: the artifacts per format (`artifact_plan`) and report.json,
    each refused if it exists without `force` or cannot be written (before the model load).
    """
    plan = artifact_plan(out, stem, formats, quantize)
    report_path = out / "report.json"
    for path in [*(a.path for artifacts in plan.values() for a in artifacts), report_path]:
        check_writable(path, force)
    return plan, report_path


def _images(calibration_data, input_size, num_calibration: int, num_verify: int):
    """`(source, calibration, held_out)`: the name of the images' source, the int8
    calibration images and the verification images, float32 (N, H, W, 3) in [0, 1].
    A named source gives the verification images from a disjoint range; an array
    gives its first `num_verify` images."""
    import numpy as np

    from export import calibration as calib

    if isinstance(calibration_data, (str, os.PathLike)):
        source = str(calibration_data)
        calibration = calib.load_images(source, input_size, num_calibration, start=0)
        held_out = calib.load_images(source, input_size, num_verify, start=100_000)
    else:
        source = "array"
        calibration = np.asarray(calibration_data, np.float32)
        held_out = calibration[:num_verify]
    return source, calibration, held_out


def _run_exporters(plan: dict[str, list[Artifact]], job: ExportJob) -> None:
    """Exports every planned artifact, one exporter per format in plan order, each
    format's entries appended to `job.report["artifacts"]` as it finishes."""
    from export.onnx import ONNXExporter
    from export.savedmodel import SavedModelExporter
    from export.tflite import TFLiteExporter

    exporters = {
        e.format: e for e in (SavedModelExporter, TFLiteExporter, ONNXExporter, TensorRTExporter)
    }
    for format_, artifacts in plan.items():
        job.report["artifacts"].extend(exporters[format_](job).export_all(artifacts))


def _write_report(report: dict, report_path: pathlib.Path, log) -> None:
    """Writes report.json (atomically) and logs the table of its artifacts."""
    with atomic_output(report_path, force=True) as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    log(format_report(report["artifacts"]))
    log(f"report: {report_path}")


__all__ = [
    "Artifact",
    "ExportError",
    "ExportJob",
    "ExportVerificationError",
    "Exporter",
    "FORMATS",
    "ONNXExporter",
    "OutputExistsError",
    "QUANTIZE",
    "SavedModelExporter",
    "TFLiteExporter",
    "TensorRTExporter",
    "TensorRTUnavailableError",
    "check_onnx_for_tensorrt",
    "export_model",
    "format_report",
    "tensorrt_status",
    "tftrt_status",
    "to_onnx",
    "to_savedmodel",
    "to_tensorrt",
    "to_tflite",
    "verify",
]
