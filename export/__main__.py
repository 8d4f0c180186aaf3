"""`python -m export`: a thin command-line front over `export.export_model`.

    python -m export --model MODEL.keras --format savedmodel tflite onnx tensorrt \
        [--quantize float16 int8] [--calibration-data synthetic|mpii|coco|DIR] \
        [--int8-recipe percentile full float_heads float_last_stage] --out DIR [--force]
"""

from __future__ import annotations

import argparse
import sys

from export import FORMATS, QUANTIZE, ExportError, export_model
from export.tflite import INT8_RECIPES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Export a kerashg .keras model, verify every artifact, write report.json.",
    )
    parser.add_argument("--model", required=True, help="the .keras file to export")
    parser.add_argument(
        "--format", nargs="+", choices=FORMATS, default=["savedmodel", "tflite", "onnx"]
    )
    parser.add_argument(
        "--quantize", nargs="*", choices=QUANTIZE, default=[], help="extra precisions"
    )
    parser.add_argument(
        "--calibration-data",
        default="synthetic",
        help="synthetic, mpii, coco or a folder of images (int8 calibration, verification)",
    )
    parser.add_argument(
        "--int8-recipe",
        nargs="+",
        choices=INT8_RECIPES,
        default=list(INT8_RECIPES),
        help="int8 recipes tried in this order until one passes verification "
        f"(default: all, {INT8_RECIPES[0]} first; see export.tflite)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="overwrite existing artifacts")
    parser.add_argument("--threads", type=int, default=2, help="runtime threads for latency")
    args = parser.parse_args(argv)
    try:
        export_model(
            args.model,
            args.out,
            formats=args.format,
            quantize=args.quantize,
            calibration_data=args.calibration_data,
            force=args.force,
            num_threads=args.threads,
            int8_recipes=args.int8_recipe,
        )
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
