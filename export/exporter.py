"""The contract every format's exporter keeps, and the artifacts each one writes.

One exporter per format (`export.savedmodel.SavedModelExporter`,
`export.tflite.TFLiteExporter`, `export.onnx.ONNXExporter`,
`export.tensorrt.TensorRTExporter`), each an `Exporter` over one `ExportJob`:

- `export(artifact, verify_fn, **choices) -> path`: writes the artifact under a
  temporary name, calls `verify_fn(temporary_path)` (which raises to reject it),
  then renames it to `artifact.path`;
- `verify(artifact, path) -> dict`: its parity with Keras, size and latency,
  through `export.verify.verify`;
- `run(artifact, **choices) -> dict`: both, as the artifact's report entry (a
  failure is recorded there, never raised);
- `export_all(artifacts) -> list[dict]`: every artifact of the format (the
  TFLite exporter's int8 recipe fallbacks, the TensorRT exporter's operator
  check and its one-line skip live in their overrides).

`export.export_model` loops over the requested formats in `FORMATS` order (the
ONNX file is written before TensorRT parses it). This module imports no
TensorFlow: `artifact_plan` names every output before the model is loaded.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from export.options import FORMATS, INT8_RECIPES
from export.verify import DEFAULT_THREADS, ExportVerificationError, KerasReference, verify

# TensorRT's names of the precisions, as its engine files are named.
TENSORRT_PRECISION = {"float32": "fp32", "float16": "fp16", "int8": "int8"}


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One file (or SavedModel folder) an export writes.

    Attributes:
        name: its name in the report, e.g. "tflite_int8".
        path: where it ends up.
        precision: "float32", "float16" or "int8" (selects the verification's
            tolerance, `export.verify.TOLERANCES`).
    """

    name: str
    path: pathlib.Path
    precision: str


def artifact_plan(
    out: str | os.PathLike, stem: str, formats: Sequence[str], quantize: Sequence[str]
) -> dict[str, list[Artifact]]:
    """`{format: [Artifact, ...]}` of every artifact `export_model` writes, formats in
    `FORMATS` order; TFLite and TensorRT write one per precision (float32, then `quantize`)."""
    out = pathlib.Path(out)
    precisions = ["float32", *quantize]
    files = {
        "savedmodel": {"savedmodel": (f"{stem}_savedmodel", "float32")},
        "tflite": {f"tflite_{p}": (f"{stem}_{p}.tflite", p) for p in precisions},
        "onnx": {"onnx": (f"{stem}.onnx", "float32")},
        "tensorrt": {
            f"tensorrt_{p}": (f"{stem}_{TENSORRT_PRECISION[p]}.engine", p) for p in precisions
        },
    }
    return {
        format_: [Artifact(name, out / file, p) for name, (file, p) in files[format_].items()]
        for format_ in FORMATS
        if format_ in formats
    }


@dataclasses.dataclass
class ExportJob:
    """What every exporter of one `export_model` call shares.

    Attributes:
        model: the Keras model.
        reference: Keras's outputs on the verification images (`KerasReference`).
        calibration: float32 images (N, H, W, 3) in [0, 1] for int8 calibration.
        work: a temporary folder for intermediate files.
        report: the report being built (format-wide fields such as
            `tensorrt_operator_check` are set here).
        stem: base name of the files.
        force: replace existing artifacts.
        num_threads: runtime threads for the latency figures.
        latency_runs: timed single-image calls per artifact.
        verify_gate: reject artifacts outside tolerance (False: only record).
        int8_recipes: TFLite int8 recipes tried in order.
        log: callable for progress lines.
        onnx_path: the ONNX file once written (TensorRT builds its engines from it).
    """

    model: Any
    reference: KerasReference
    calibration: np.ndarray
    work: pathlib.Path
    report: dict
    stem: str = "model"
    force: bool = False
    num_threads: int = DEFAULT_THREADS
    latency_runs: int = 20
    verify_gate: bool = True
    int8_recipes: Sequence[str] = INT8_RECIPES
    log: Callable[..., Any] = print
    onnx_path: pathlib.Path | None = None


class Exporter:
    """One export format: writes its artifacts, verifies each against Keras before
    it is moved into place, and returns their report entries.

    Subclasses set `format` and define `export`; they override `verify` where
    `kerashg.runtime.load_runner` cannot open the file (TensorRT engines), and
    `export_all` where the format has more to do than one `run` per artifact.

    Args:
        job: the `ExportJob` shared by every format of the export.
    """

    format = ""

    def __init__(self, job: ExportJob):
        self.job = job

    def export(self, artifact: Artifact, verify_fn, **choices) -> pathlib.Path:
        """Writes `artifact`: complete under a temporary name, `verify_fn(temporary_path)`
        (raises to reject it), then renamed to `artifact.path`, which is returned."""
        raise NotImplementedError

    def verify(self, artifact: Artifact, path: pathlib.Path, runner=None) -> dict:
        """`export.verify.verify` of the file at `path` (`runner`: the file opened
        already; default `kerashg.runtime.load_runner`)."""
        job = self.job
        return verify(
            job.reference,
            path,
            precision=artifact.precision,
            num_threads=job.num_threads,
            latency_runs=job.latency_runs,
            name=artifact.name,
            runner=runner,
        )

    def run(self, artifact: Artifact, **choices) -> dict:
        """Exports and verifies one artifact; returns its report entry.

        A file outside tolerance (with `job.verify_gate`) is not moved into
        place; it and any error of the converter are recorded in the entry
        (`passed` False, `failures`), for `export_model` to raise `ExportError`
        once the report is written.
        """
        job = self.job
        job.log(f"exporting {artifact.name} → {artifact.path}")
        entry = {"name": artifact.name, "path": str(artifact.path), "precision": artifact.precision}

        def verify_fn(tmp):
            result = self.verify(artifact, tmp)
            result["path"] = str(artifact.path)
            entry.update(result)
            if not result["passed"] and job.verify_gate:
                raise ExportVerificationError(result)

        try:
            self.export(artifact, verify_fn, **choices)
        except ExportVerificationError:
            entry["passed"] = False
        except Exception as error:  # recorded in the report, re-raised as ExportError
            entry.update(passed=False, failures=[f"{type(error).__name__}: {error}"])
        return entry

    def export_all(self, artifacts: Sequence[Artifact]) -> list[dict]:
        """Every artifact of the format, in order; returns their report entries."""
        return [self.run(artifact) for artifact in artifacts]
