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
from export.options import (
    DEFAULT_CALIBRATION_STEPS,
    DEFAULT_INT8_RECIPE,
    FORMATS,
    INT8_RECIPES,
    QUANTIZE,
)
from export.tensorrt import (
    TensorRTUnavailableError,
    check_onnx_for_tensorrt,
    tensorrt_status,
    tftrt_status,
    to_tensorrt,
)
from export.verify import (
    DEFAULT_THREADS,
    ExportVerificationError,
    KerasReference,
    format_report,
    keras_entry,
    load_keras_model,
    verify,
)
from kerashg.cli import lazy_attributes

# Names that import TensorFlow, loaded on first access (PEP 562).
_LAZY = {
    "to_onnx": "export.onnx",
    "save_serving_model": "export.savedmodel",
    "to_savedmodel": "export.savedmodel",
    "to_tflite": "export.tflite",
}
_LAZY_MODULES = ("calibration", "onnx", "savedmodel", "tflite")


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, _LAZY_MODULES)

# TensorRT precision names of the quantisation options.
_TRT_PRECISION = {"float32": "fp32", "float16": "fp16", "int8": "int8"}


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
    out = pathlib.Path(out)
    precisions = ["float32", *quantize]
    paths = {}
    if "savedmodel" in formats:
        paths["savedmodel"] = out / f"{stem}_savedmodel"
    if "tflite" in formats:
        for precision in precisions:
            paths[f"tflite_{precision}"] = out / f"{stem}_{precision}.tflite"
    if "onnx" in formats:
        paths["onnx"] = out / f"{stem}.onnx"
    if "tensorrt" in formats:
        for precision in precisions:
            paths[f"tensorrt_{precision}"] = out / f"{stem}_{_TRT_PRECISION[precision]}.engine"
    return paths


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

    Args:
        model: a kerashg Keras model or the path of a `.keras` file.
        out: output folder.
        formats: any of "savedmodel", "tflite", "onnx", "tensorrt".
        quantize: any of "float16", "int8": extra TFLite (and TensorRT) precisions
            besides float32.
        calibration_data: "synthetic", "mpii", "coco", a folder of images, or an
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
            (default `export.tflite.INT8_RECIPES`: the percentile recipe first);
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
    import numpy as np

    from export import calibration as calib

    log = log or (lambda *_: None)
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}. Received: {formats}")
    unknown = set(quantize) - set(QUANTIZE)
    if unknown:
        raise ValueError(f"quantize must be a subset of {QUANTIZE}. Received: {quantize}")
    if isinstance(calibration_data, (str, os.PathLike)):
        calib.check_source(calibration_data)  # before the (slow) model load
    model_path = pathlib.Path(model) if isinstance(model, (str, os.PathLike)) else None
    stem = stem or (model_path.stem if model_path else "model")
    out = pathlib.Path(out)
    paths = artifact_paths(out, stem, formats, quantize)
    report_path = out / "report.json"
    for path in [*paths.values(), report_path]:
        check_writable(path, force)  # before the (slow) model load
    if model_path is not None:
        model = load_keras_model(model_path)
    out.mkdir(parents=True, exist_ok=True)

    # The converters import TensorFlow: only now that the input is known good.
    from export.onnx import to_onnx
    from export.savedmodel import model_input_size, save_serving_model, to_savedmodel
    from export.tflite import to_tflite

    input_size = model_input_size(model)
    if isinstance(calibration_data, (str, os.PathLike)):
        source = str(calibration_data)
        calibration = calib.load_images(source, input_size, num_calibration, start=0)
        held_out = calib.load_images(source, input_size, num_verify, start=100_000)
    else:
        source = "array"
        calibration = np.asarray(calibration_data, np.float32)
        held_out = calibration[:num_verify]
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

    def run(name, precision, export_fn):
        """export_fn(verify_fn) writes the artifact; verification happens before the rename."""
        log(f"exporting {name} → {paths[name]}")
        entry = {"name": name, "path": str(paths[name]), "precision": precision}

        def verify_fn(tmp):
            result = verify(
                reference,
                tmp,
                precision=precision,
                num_threads=num_threads,
                latency_runs=latency_runs,
                name=name,
            )
            result["path"] = str(paths[name])
            entry.update(result)
            if not result["passed"] and verify_gate:
                raise ExportVerificationError(result)

        try:
            export_fn(verify_fn)
        except ExportVerificationError:
            entry["passed"] = False
        except Exception as error:  # recorded in the report, re-raised as ExportError below
            entry.update(passed=False, failures=[f"{type(error).__name__}: {error}"])
        entries.append(entry)
        return entry

    with tempfile.TemporaryDirectory(prefix="kerashg-export-") as work:
        work = pathlib.Path(work)
        if "savedmodel" in formats:
            run(
                "savedmodel",
                "float32",
                lambda v: to_savedmodel(model, paths["savedmodel"], force=force, verify_fn=v),
            )
        if "tflite" in formats:
            serving = work / "serving_batch1"
            save_serving_model(model, serving, batch_size=1)
            for precision in ["float32", *quantize]:
                name = f"tflite_{precision}"
                # Int8: the first recipe whose decoded joints pass the tolerance
                # (`INT8_RECIPES` order, the percentile recipe first; see export.tflite).
                recipes = int8_recipes if precision == "int8" else (DEFAULT_INT8_RECIPE,)
                attempts = []
                for recipe in recipes:
                    entry = run(
                        name,
                        precision,
                        lambda v, p=precision, n=name, r=recipe: to_tflite(
                            model,
                            paths[n],
                            quantize=p,
                            calibration=calibration,
                            int8_recipe=r,
                            force=force,
                            verify_fn=v,
                            saved_model_dir=serving,
                        ),
                    )
                    if precision != "int8":
                        break
                    entry["int8_recipe"] = recipe
                    attempts.append(entries.pop())
                    if entry.get("passed"):
                        break
                if attempts:
                    final = dict(attempts[-1])
                    final["int8_attempts"] = [
                        {
                            k: a.get(k)
                            for k in ("int8_recipe", "passed", "joint_agreement", "failures")
                        }
                        for a in attempts
                    ]
                    entries.append(final)
        onnx_path = paths.get("onnx")
        if "onnx" in formats:
            run("onnx", "float32", lambda v: to_onnx(model, onnx_path, force=force, verify_fn=v))
            if not onnx_path.is_file():
                onnx_path = None
        if "tensorrt" in formats:
            if onnx_path is None:
                onnx_path = to_onnx(model, work / f"{stem}.onnx")
            problems = check_onnx_for_tensorrt(onnx_path)
            report["tensorrt_operator_check"] = {
                "onnx": str(onnx_path),
                "passed": not problems,
                "problems": [str(p) for p in problems],
            }
            log(f"TensorRT operator check: {'ok' if not problems else problems}")
            available, message = tensorrt_status()
            for precision in ["float32", *quantize]:
                name = f"tensorrt_{precision}"
                if not available:
                    entries.append(
                        {
                            "name": name,
                            "format": "tensorrt",
                            "precision": precision,
                            "skipped": message,
                        }
                    )
                    continue
                entry = {"name": name, "format": "tensorrt", "precision": precision}
                try:
                    to_tensorrt(
                        onnx_path,
                        paths[name],
                        precision=_TRT_PRECISION[precision],
                        calibration=calibration,
                        force=force,
                    )
                    entry.update(
                        path=str(paths[name]),
                        size_bytes=paths[name].stat().st_size,
                        passed=True,
                        note="engine built; parity is not measured (no TensorRT runner yet)",
                    )
                except Exception as error:
                    entry.update(passed=False, failures=[f"{type(error).__name__}: {error}"])
                entries.append(entry)
            if available is False:
                log(message)

    with atomic_output(report_path, force=True) as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    log(format_report(entries))
    log(f"report: {report_path}")
    if verify_gate and any(e.get("passed") is False for e in entries):
        raise ExportError(report)
    return report


__all__ = [
    "ExportError",
    "ExportVerificationError",
    "FORMATS",
    "OutputExistsError",
    "QUANTIZE",
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
