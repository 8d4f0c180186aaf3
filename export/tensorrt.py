"""TensorRT: ONNX → engine where TensorRT and a GPU exist, verified like every format;
and an operator check anywhere.

PyPI TensorFlow wheels are built without TF-TRT, so the route is the exported
ONNX file parsed by TensorRT's ONNX parser (`tensorrt` package, CUDA GPU):
FP32, FP16, or INT8 calibrated with the same images as the TFLite int8 model
(fed as uint8, the ONNX graph's one input `images`). `TensorRTRunner` runs an
engine (`tensorrt`, `cuda-python`), so `export.verify` judges it as it judges
the other files. `to_tftrt` keeps the TF-TRT route for TensorFlow builds that
have it.

`check_onnx_for_tensorrt` (`export.tensorrt_check`) runs
anywhere: an export that TensorRT's parser would refuse fails on a machine
without a GPU. Where TensorRT or a GPU is missing, `TensorRTExporter` records
each engine as skipped with one line saying what is missing (`tensorrt_status`).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from export._files import atomic_output, check_writable
from export.exporter import TENSORRT_PRECISION, Artifact, Exporter
from export.tensorrt_check import (
    Incompatibility,
    TensorRTCompatibilityError,
    assert_tensorrt_compatible,
    check_onnx_for_tensorrt,
)
from export.verify import to_uint8
from kerashg.runtime import Runner, recorded_configs


class TensorRTUnavailableError(RuntimeError):
    """TensorRT (or a CUDA GPU, or TF-TRT) is not available on this machine."""


# --------------------------------------------------------------- availability
def tensorrt_status() -> tuple[bool, str]:
    """(available, one line saying what is there or what is missing)."""
    try:
        import tensorrt as trt
    except ImportError:
        return False, (
            "TensorRT engine not built: the `tensorrt` Python package is not installed "
            "(pip install tensorrt; it also needs an NVIDIA GPU with CUDA)"
        )
    try:
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        if builder is None:
            raise RuntimeError("trt.Builder returned None")
        del builder
    except Exception as error:  # TensorRT raises various errors without a GPU.
        return False, f"TensorRT engine not built: no usable CUDA GPU ({error})"
    return True, f"TensorRT {trt.__version__}"


def tftrt_status() -> tuple[bool, str]:
    """(available, one line) for TF-TRT, present only in TensorFlow builds with TensorRT."""
    import tensorflow as tf

    if not tf.sysconfig.get_build_info().get("is_tensorrt_build", False):
        return False, (
            "TF-TRT not available: this TensorFlow build has no TensorRT "
            "(PyPI wheels never do); use the ONNX → TensorRT route"
        )
    return True, "TF-TRT available"


# --------------------------------------------------------------- engine build
PRECISIONS = tuple(TENSORRT_PRECISION.values())


def _cudart():
    """cuda-python's runtime module (`cuda.bindings.runtime`, or `cuda.cudart` before 12.6)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as error:
            raise TensorRTUnavailableError(
                "running TensorRT needs the `cuda-python` package (pip install cuda-python)"
            ) from error
    return cudart


def _cuda(result):
    """A cuda-python call's `(error, *values)`: raises on an error, returns the value(s)."""
    error, *values = result
    if error != type(error).cudaSuccess:
        raise RuntimeError(f"CUDA call failed: {error}")
    return values[0] if len(values) == 1 else values


def _calibration_uint8(images) -> np.ndarray:
    """Calibration images as the ONNX input takes them: uint8 (N, H, W, 3); float
    images in [0, 1] are rounded (`export.verify.to_uint8`)."""
    images = np.asarray(images)
    return np.ascontiguousarray(images if images.dtype == np.uint8 else to_uint8(images))


class _EntropyCalibrator:
    """INT8 calibrator feeding uint8 images (N, H, W, 3), the ONNX graph's `images`
    input, one by one through device memory."""

    def __new__(cls, images, cache_path=None):
        import tensorrt as trt

        cudart = _cudart()

        class Calibrator(trt.IInt8EntropyCalibrator2):
            def __init__(self):
                super().__init__()
                self.images = _calibration_uint8(images)
                self.index = 0
                self.device = _cuda(cudart.cudaMalloc(self.images[0:1].nbytes))

            def get_batch_size(self):
                return 1

            def get_batch(self, names):
                if self.index >= len(self.images):
                    return None
                batch = np.ascontiguousarray(self.images[self.index : self.index + 1])
                kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
                _cuda(cudart.cudaMemcpy(self.device, batch.ctypes.data, batch.nbytes, kind))
                self.index += 1
                return [int(self.device)]

            def read_calibration_cache(self):
                path = pathlib.Path(cache_path) if cache_path else None
                return path.read_bytes() if path and path.is_file() else None

            def write_calibration_cache(self, cache):
                if cache_path:
                    pathlib.Path(cache_path).write_bytes(bytes(cache))

        return Calibrator()


def build_engine(
    onnx_path: str | os.PathLike,
    precision: str = "fp32",
    calibration: np.ndarray | None = None,
    max_batch: int = 1,
    workspace_bytes: int = 1 << 30,
    calibration_cache: str | os.PathLike | None = None,
) -> bytes:
    """Builds a serialized TensorRT engine from an ONNX file (needs TensorRT and a GPU).

    Args:
        onnx_path: an ONNX file from `export.to_onnx` (input `images` (B, H, W, 3)).
        precision: "fp32", "fp16" or "int8" (INT8 calibrated on `calibration`).
        calibration: float32 images (N, H, W, 3) in [0, 1] (or uint8), for int8;
            fed as uint8, the type of the ONNX input.
        max_batch: largest batch of the optimisation profile.
        workspace_bytes: builder memory pool limit.
        calibration_cache: file TensorRT reads its INT8 ranges from, where it
            exists, and writes them to (default None: calibrate, cache nothing).

    Returns:
        the serialized engine (`.engine` / `.plan` bytes).

    Raises:
        TensorRTUnavailableError: no `tensorrt` package or no GPU.
        TensorRTCompatibilityError: the graph fails the operator check or the parser.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS}. Received: precision={precision!r}"
        )
    available, message = tensorrt_status()
    if not available:
        raise TensorRTUnavailableError(message)
    assert_tensorrt_compatible(onnx_path)
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT < 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(pathlib.Path(onnx_path).read_bytes()):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise TensorRTCompatibilityError(
            [Incompatibility("<parser>", "parse", error) for error in errors]
        )
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    profile = builder.create_optimization_profile()
    images = network.get_input(0)
    _, height, width, channels = images.shape
    profile.set_shape(
        images.name,
        (1, height, width, channels),
        (1, height, width, channels),
        (max_batch, height, width, channels),
    )
    config.add_optimization_profile(profile)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 needs calibration images. Received: calibration=None")
        config.set_flag(trt.BuilderFlag.INT8)
        config.set_flag(trt.BuilderFlag.FP16)  # fallback for layers without int8 kernels
        config.int8_calibrator = _EntropyCalibrator(calibration, calibration_cache)
        config.set_calibration_profile(profile)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    return bytes(engine)


def to_tensorrt(
    onnx_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    precision: str = "fp32",
    calibration: np.ndarray | None = None,
    force: bool = False,
    verify_fn=None,
) -> pathlib.Path:
    """Builds a TensorRT engine file from an exported ONNX file (atomic write).

    Where TensorRT or a GPU is missing this raises `TensorRTUnavailableError`
    with one line saying what is missing; `check_onnx_for_tensorrt` still runs.

    Args:
        onnx_path: ONNX file written by `export.to_onnx`.
        out: path of the engine file (e.g. `model_fp16.engine`).
        precision: "fp32", "fp16" or "int8".
        calibration: float32 images (N, H, W, 3) in [0, 1] for int8.
        force: replace an existing file.
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the engine before it is moved into place.

    Returns:
        `pathlib.Path(out)`.
    """
    out = pathlib.Path(out)
    check_writable(out, force)
    engine = build_engine(onnx_path, precision, calibration)
    with atomic_output(out, force=force) as tmp:
        tmp.write_bytes(engine)
        if verify_fn is not None:
            verify_fn(tmp)
    return out


# --------------------------------------------------------------- run and verify
def onnx_configs(onnx_path: str | os.PathLike) -> tuple[dict | None, dict | None]:
    """The codec and keypoint set configs an ONNX file records (its metadata
    properties, `kerashg.runtime.recorded_configs`), each None where absent."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return recorded_configs({p.key: p.value for p in model.metadata_props})


class TensorRTRunner(Runner):
    """A TensorRT engine of the ONNX graph (`to_tensorrt`), on the GPU: input
    `images` uint8 (B, H, W, 3), outputs `heatmaps`, `keypoints`[, `masks`], as
    `kerashg.runtime.ONNXRunner` runs them (float images are rounded to uint8).

    Needs `tensorrt`, `cuda-python` and a CUDA GPU. The engines are built for
    batch 1, so a batch runs image by image. An engine file records neither
    codec nor keypoint set: `codec_config` and `keypoint_set_config` are those
    of the ONNX file it was built from (`onnx_configs`). Call `close()` to free
    its device memory.

    Args:
        path: the engine file.
        codec_config: the model's `HeatmapCodec.get_config()`, or None.
        keypoint_set_config: the model's `KeypointSet.get_config()`, or None.
    """

    format = "tensorrt"

    def __init__(
        self,
        path: str | os.PathLike,
        codec_config: dict | None = None,
        keypoint_set_config: dict | None = None,
    ):
        super().__init__()
        import tensorrt as trt

        self._cudart = _cudart()
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(pathlib.Path(path).read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not load the engine {path}")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.input_name = inputs[0]
        self.outputs = [n for n in names if n not in inputs]
        self.dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
        _, height, width, _ = self.engine.get_tensor_shape(self.input_name)
        self.input_size = (int(width), int(height))
        self.has_masks = "masks" in self.outputs
        self.codec_config = codec_config
        self.keypoint_set_config = keypoint_set_config
        self._stream = _cuda(self._cudart.cudaStreamCreate())
        self._buffers = {}  # tensor name → (device pointer, bytes)

    def _device(self, name: str, nbytes: int) -> int:
        pointer, size = self._buffers.get(name, (None, 0))
        if size < nbytes:
            if pointer is not None:
                _cuda(self._cudart.cudaFree(pointer))
            pointer = _cuda(self._cudart.cudaMalloc(nbytes))
            self._buffers[name] = (pointer, nbytes)
        return pointer

    def _run_one(self, image: np.ndarray) -> dict:
        cudart = self._cudart
        host = {self.input_name: np.ascontiguousarray(image[None], np.uint8)}
        self.context.set_input_shape(self.input_name, host[self.input_name].shape)
        for name in self.outputs:
            host[name] = np.empty(tuple(self.context.get_tensor_shape(name)), self.dtypes[name])
        device = {name: self._device(name, array.nbytes) for name, array in host.items()}
        for name, pointer in device.items():
            self.context.set_tensor_address(name, pointer)
        array = host[self.input_name]
        to_device = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        _cuda(
            cudart.cudaMemcpy(device[self.input_name], array.ctypes.data, array.nbytes, to_device)
        )
        if not self.context.execute_async_v3(int(self._stream)):
            raise RuntimeError("TensorRT failed to run the engine")
        _cuda(cudart.cudaStreamSynchronize(self._stream))
        to_host = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in self.outputs:
            array = host[name]
            _cuda(cudart.cudaMemcpy(array.ctypes.data, device[name], array.nbytes, to_host))
        return host

    def _run(self, names, images) -> dict:
        results = [self._run_one(image) for image in np.asarray(images, np.uint8)]
        return {name: np.concatenate([r[name] for r in results]) for name in names}

    def heatmaps(self, images):
        names = ["heatmaps"] + (["masks"] if self.has_masks else [])
        return self._run(names, to_uint8(images))

    def keypoints(self, images):
        return self._run(["keypoints"], images)["keypoints"]

    def close(self) -> None:
        """Frees the device buffers and the stream."""
        for pointer, _ in self._buffers.values():
            _cuda(self._cudart.cudaFree(pointer))
        self._buffers = {}
        if self._stream is not None:
            _cuda(self._cudart.cudaStreamDestroy(self._stream))
            self._stream = None


class TensorRTExporter(Exporter):
    """`export.exporter.Exporter` of the TensorRT engines, one per precision.

    Builds from the export's ONNX file (or one written to the work folder when
    ONNX is not requested), records `check_onnx_for_tensorrt` as the report's
    `tensorrt_operator_check`, and verifies each engine with `TensorRTRunner`
    like every other file. Without TensorRT or a GPU each engine's entry is
    `skipped` with `tensorrt_status`'s one line.
    """

    format = "tensorrt"
    onnx_path = None
    codec_config = None
    keypoint_set_config = None

    def export_all(self, artifacts) -> list[dict]:
        job = self.job
        self.onnx_path = job.onnx_path
        if self.onnx_path is None:
            from export.onnx import to_onnx

            self.onnx_path = to_onnx(job.model, job.work / f"{job.stem}.onnx")
        problems = check_onnx_for_tensorrt(self.onnx_path)
        job.report["tensorrt_operator_check"] = {
            "onnx": str(self.onnx_path),
            "passed": not problems,
            "problems": [str(p) for p in problems],
        }
        job.log(f"TensorRT operator check: {'ok' if not problems else problems}")
        available, message = tensorrt_status()
        if not available:
            job.log(message)
            return [
                {
                    "name": a.name,
                    "format": self.format,
                    "precision": a.precision,
                    "skipped": message,
                }
                for a in artifacts
            ]
        self.codec_config, self.keypoint_set_config = onnx_configs(self.onnx_path)
        return super().export_all(artifacts)

    def export(self, artifact: Artifact, verify_fn) -> pathlib.Path:
        return to_tensorrt(
            self.onnx_path,
            artifact.path,
            precision=TENSORRT_PRECISION[artifact.precision],
            calibration=self.job.calibration,
            force=self.job.force,
            verify_fn=verify_fn,
        )

    def verify(self, artifact: Artifact, path: pathlib.Path, runner=None) -> dict:
        runner = runner or TensorRTRunner(path, self.codec_config, self.keypoint_set_config)
        try:
            return super().verify(artifact, path, runner=runner)
        finally:
            runner.close()


def to_tftrt(
    saved_model_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    precision: str = "fp32",
    force: bool = False,
) -> pathlib.Path:
    """TF-TRT conversion of a serving SavedModel (only in TensorFlow builds with TensorRT).

    Args:
        saved_model_dir: SavedModel from `export.to_savedmodel`.
        out: output SavedModel folder.
        precision: "fp32" or "fp16" (TF-TRT int8 needs its own calibration run).
        force: replace an existing folder.
    """
    available, message = tftrt_status()
    if not available:
        raise TensorRTUnavailableError(message)
    if precision not in ("fp32", "fp16"):
        raise ValueError(
            f"TF-TRT precision must be fp32 or fp16. Received: precision={precision!r}"
        )
    import tensorflow as tf

    out = pathlib.Path(out)
    check_writable(out, force)
    converter = tf.experimental.tensorrt.Converter(
        input_saved_model_dir=str(saved_model_dir),
        precision_mode=precision.upper(),
    )
    converter.convert()
    with atomic_output(out, force=force, directory=True) as tmp:
        converter.save(str(tmp))
    return out
