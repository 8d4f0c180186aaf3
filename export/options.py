"""The names of `python -m export`'s choices, importable without TensorFlow.

`export.tflite` documents the int8 recipes; their names live here so that
`python -m export --help` answers before TensorFlow loads.
"""

FORMATS = ("savedmodel", "tflite", "onnx", "tensorrt")
QUANTIZE = ("float16", "int8")

# Int8 recipes: "full" quantises every op that has an int8 kernel; "float_heads"
# keeps the heatmap convolutions (and what follows) in float32.
INT8_FULL = "full"
INT8_FLOAT_HEADS = "float_heads"
# The whole last stage (hourglass and head) in float32, earlier stages in int8.
INT8_FLOAT_LAST_STAGE = "float_last_stage"
# Every layer int8 with percentile activation ranges; the decoding tail in float32.
INT8_PERCENTILE = "percentile"
# Percentile ranges, with the whole last stage in float32 as well.
INT8_PERCENTILE_LAST_STAGE = "percentile_last_stage"
INT8_RECIPES = (
    INT8_PERCENTILE,
    INT8_PERCENTILE_LAST_STAGE,
    INT8_FULL,
    INT8_FLOAT_HEADS,
    INT8_FLOAT_LAST_STAGE,
)
DEFAULT_INT8_RECIPE = INT8_PERCENTILE
# Calibration images the int8 converter reads by default (more gives little).
DEFAULT_CALIBRATION_STEPS = 64
