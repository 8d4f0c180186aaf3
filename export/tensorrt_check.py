"""TensorRT's operator check: what in an ONNX graph TensorRT's ONNX parser would reject.

`check_onnx_for_tensorrt` runs anywhere (it needs `onnx`, no GPU): it compares
every node of an ONNX graph (operator, opset and the attributes TensorRT
restricts, e.g. Resize's `coordinate_transformation_mode` and `nearest_mode`)
with the support matrix of TensorRT's ONNX parser (onnx-tensorrt
`docs/operators.md`, TensorRT 10.15), so an export that TensorRT would refuse
fails here, on a machine without a GPU.
"""

from __future__ import annotations

import dataclasses
import pathlib

# onnx-tensorrt docs/operators.md (TensorRT 10.15): "supports operators in the
# inclusive range of opset 9 to opset 24".
TENSORRT_VERSION_CHECKED = "10.15"
TENSORRT_OPSET_RANGE = (9, 24)

# Operators marked "Y" in the support matrix.
TENSORRT_SUPPORTED_OPS = frozenset(
    """
    Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
    BatchNormalization BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant
    ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace
    DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor
    Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool
    Greater GreaterOrEqual GridSample GroupNormalization GRU HammingWindow HannWindow
    HardSigmoid HardSwish Hardmax Identity If ImageScaler InstanceNormalization IsInf
    IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LRN LSTM
    LpNormalization LpPool MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish Mod
    Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad ParametricSoftplus Pow PRelu
    QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range
    Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean
    ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence
    RMSNormalization RNN RoiAlign RotaryEmbedding Round STFT ScaledTanh Scan Scatter
    ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax
    Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh TensorScatter
    ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
    """.split()
)

# Resize / Upsample restrictions of the matrix.
RESIZE_MODES = frozenset({"nearest", "linear"})
RESIZE_COORDINATE_MODES = frozenset(
    {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"}
)
RESIZE_NEAREST_MODES = frozenset({"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"})
# ONNX defaults of the Resize attributes (used when the attribute is absent).
RESIZE_DEFAULTS = {
    "mode": "nearest",
    "coordinate_transformation_mode": "half_pixel",
    "nearest_mode": "round_prefer_floor",
    "antialias": 0,
    "keep_aspect_ratio_policy": "stretch",
}
# Operators whose listed input must be a build-time constant (initializer or
# Constant node): (op, input index, what the matrix says).
CONSTANT_INPUTS = (
    ("OneHot", 1, "`depth` must be a build-time constant"),
    ("CumSum", 1, "`axis` must be a build-time constant"),
    ("TopK", 1, "`K` must be a build-time constant"),
    *(
        (op, 1, "`axes` must be an initializer")
        for op in (
            "ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin "
            "ReduceProd ReduceSum ReduceSumSquare"
        ).split()
    ),
    ("Squeeze", 1, "`axes` must be resolvable to a constant"),
    ("Unsqueeze", 1, "`axes` must be resolvable to a constant"),
)
# Tensor element types TensorRT reads (UINT8 only as a network input or output).
TENSORRT_TYPES = frozenset(
    {"FLOAT", "FLOAT16", "BFLOAT16", "DOUBLE", "INT32", "INT64", "INT8", "UINT8", "BOOL"}
)


class TensorRTCompatibilityError(ValueError):
    """An ONNX graph uses operators or attributes TensorRT's parser rejects."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = "\n  ".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} TensorRT incompatibilities:\n  {lines}")


@dataclasses.dataclass(frozen=True)
class Incompatibility:
    """One reason TensorRT would refuse a node (or the whole graph)."""

    node: str
    op_type: str
    reason: str

    def __str__(self):
        return f"{self.op_type} node {self.node!r}: {self.reason}"


def _attributes(node) -> dict:
    import onnx

    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        values[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return values


def _constant_names(graph) -> set[str]:
    names = {init.name for init in graph.initializer}
    names.update(out for node in graph.node if node.op_type == "Constant" for out in node.output)
    return names


def _check_node(node, attributes, constants, graph_io) -> list[Incompatibility]:
    name, op = node.name or (node.output[0] if node.output else "?"), node.op_type
    if node.domain not in ("", "ai.onnx"):
        reasons = [f"custom domain {node.domain!r}: TensorRT needs a plugin for it"]
    elif op not in TENSORRT_SUPPORTED_OPS:
        reasons = ["operator not supported by TensorRT's ONNX parser"]
    else:
        reasons = [
            *_resize_problems(op, attributes),
            *_pool_problems(node, attributes),
            *_attribute_problems(op, attributes),
            *_constant_input_problems(node, constants),
        ]
    return [Incompatibility(name, op, reason) for reason in reasons]


def _resize_problems(op: str, attributes: dict) -> list[str]:
    """Resize / Upsample: the modes TensorRT implements."""
    if op not in ("Resize", "Upsample"):
        return []
    values = {**RESIZE_DEFAULTS, **attributes}
    reasons = []
    if values["mode"] not in RESIZE_MODES:
        reasons.append(f"mode={values['mode']!r}; supported: {sorted(RESIZE_MODES)}")
    if op != "Resize":
        return reasons
    coord = values["coordinate_transformation_mode"]
    if coord not in RESIZE_COORDINATE_MODES:
        reasons.append(
            f"coordinate_transformation_mode={coord!r}; supported: "
            f"{sorted(RESIZE_COORDINATE_MODES)}"
        )
    if values["mode"] == "nearest" and values["nearest_mode"] not in RESIZE_NEAREST_MODES:
        reasons.append(
            f"nearest_mode={values['nearest_mode']!r}; supported: {sorted(RESIZE_NEAREST_MODES)}"
        )
    if int(values["antialias"]) != 0:
        reasons.append("antialias=1; antialiasing is not supported")
    if values["keep_aspect_ratio_policy"] != "stretch":
        reasons.append(
            f"keep_aspect_ratio_policy={values['keep_aspect_ratio_policy']!r}; supported: 'stretch'"
        )
    return reasons


def _pool_problems(node, attributes: dict) -> list[str]:
    """Pooling: no dilation, 2D or 3D, no MaxPool indices."""
    op = node.op_type
    if op not in ("MaxPool", "AveragePool", "LpPool"):
        return []
    reasons = []
    dilations = attributes.get("dilations", [])
    if any(int(d) != 1 for d in dilations):
        reasons.append(f"dilations={list(dilations)}; must be empty or all ones")
    kernel = attributes.get("kernel_shape", [])
    if op != "LpPool" and len(kernel) not in (2, 3):
        reasons.append(f"kernel_shape={list(kernel)}; only 2D or 3D pooling")
    if op == "MaxPool" and len(node.output) > 1 and node.output[1]:
        reasons.append("the `Indices` output is not supported")
    return reasons


def _attribute_problems(op: str, attributes: dict) -> list[str]:
    """TopK must be sorted; Constant has no sparse or string values."""
    reasons = []
    if op == "TopK" and int(attributes.get("sorted", 1)) != 1:
        reasons.append("sorted=0; TopK must be sorted")
    if op == "Constant":
        for key in ("sparse_value", "value_string", "value_strings"):
            if key in attributes:
                reasons.append(f"attribute {key!r} is not supported")
    return reasons


def _constant_input_problems(node, constants: set) -> list[str]:
    """The inputs `CONSTANT_INPUTS` requires at build time, computed at run time."""
    reasons = []
    for const_op, index, rule in CONSTANT_INPUTS:
        if node.op_type == const_op and len(node.input) > index and node.input[index]:
            if node.input[index] not in constants:
                reasons.append(
                    f"input {index} ({node.input[index]!r}) is computed at run time: {rule}"
                )
    return reasons


def check_onnx_for_tensorrt(model) -> list[Incompatibility]:
    """Lists what in an ONNX graph TensorRT's ONNX parser would reject.

    Checks the default-domain opset against TensorRT's range, every node's
    operator against the support matrix, the attributes the matrix restricts
    (Resize/Upsample modes, coordinate transformation and nearest rounding,
    antialias; pooling dilations and rank; TopK sorting; Constant kinds), the
    inputs that must be build-time constants (OneHot depth, Reduce axes, ...)
    and the element types of the graph's tensors (UINT8 only as graph input or
    output). Subgraphs (If / Loop / Scan bodies) are checked too.

    Args:
        model: an `onnx.ModelProto` or the path of an `.onnx` file.

    Returns:
        a list of `Incompatibility` (empty when TensorRT should parse the graph).
    """
    import onnx

    if not isinstance(model, onnx.ModelProto):
        path = pathlib.Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file not found: {path}")
        model = onnx.load(str(path))
    problems = []
    low, high = TENSORRT_OPSET_RANGE
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and not low <= opset.version <= high:
            problems.append(
                Incompatibility(
                    "<graph>",
                    "opset",
                    f"opset {opset.version} outside TensorRT {TENSORRT_VERSION_CHECKED}'s "
                    f"range {low}–{high}",
                )
            )
    graph_io = {v.name for v in (*model.graph.input, *model.graph.output)}
    problems.extend(_check_types(model.graph, graph_io))
    problems.extend(_check_graph(model.graph, graph_io))
    return problems


def _check_graph(graph, graph_io) -> list[Incompatibility]:
    import onnx

    constants = _constant_names(graph)
    problems = []
    for node in graph.node:
        attributes = _attributes(node)
        problems.extend(_check_node(node, attributes, constants, graph_io))
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                problems.extend(_check_graph(attribute.g, graph_io))
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for subgraph in attribute.graphs:
                    problems.extend(_check_graph(subgraph, graph_io))
    return problems


def _check_types(graph, graph_io) -> list[Incompatibility]:
    import onnx

    problems = []
    values = [*graph.input, *graph.output, *graph.value_info]
    for value in values:
        if not value.type.HasField("tensor_type"):
            continue
        dtype = onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)
        if dtype == "UNDEFINED":
            continue
        if dtype not in TENSORRT_TYPES or (dtype == "UINT8" and value.name not in graph_io):
            problems.append(
                Incompatibility(value.name, "tensor", f"element type {dtype} is not supported here")
            )
    for init in graph.initializer:
        dtype = onnx.TensorProto.DataType.Name(init.data_type)
        if dtype not in TENSORRT_TYPES or dtype == "UINT8":
            problems.append(
                Incompatibility(init.name, "initializer", f"element type {dtype} is not supported")
            )
    return problems


def assert_tensorrt_compatible(model) -> None:
    """Raises `TensorRTCompatibilityError` listing every problem `check_onnx_for_tensorrt` finds."""
    problems = check_onnx_for_tensorrt(model)
    if problems:
        raise TensorRTCompatibilityError(problems)
