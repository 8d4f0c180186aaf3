"""`python -m export`: a thin command-line front over `export.export_model`.

    python -m export --model MODEL.keras --format savedmodel tflite onnx tensorrt \
        [--quantize float16 int8] [--calibration-data synthetic|mpii|coco|lsp|DIR] \
        [--int8-recipe RECIPE ...] --out DIR [--force] \
        [--keep-unverified]

Exit status: 0 when every artifact passed its verification; 1 (one `error:`
line naming report.json) when one failed (removed, or kept with
`--keep-unverified`); 2 (one `error:` line) for bad input, such as a missing
model or an output that exists without `--force`.
"""

from __future__ import annotations

import argparse
import sys

from export.options import FORMATS, INT8_RECIPES, QUANTIZE
from kerashg import cli
from kerashg.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m export`."""
    parser = cli.parser(
        "python -m export",
        "Export a kerashg .keras model, verify every artifact, write report.json.",
    )
    parser.add_argument("--model", required=True, help="the .keras file to export")
    parser.add_argument(
        "--format",
        nargs="+",
        choices=FORMATS,
        default=["savedmodel", "tflite", "onnx"],
        metavar="FORMAT",
        help=f"formats to write: {', '.join(FORMATS)}",
    )
    parser.add_argument(
        "--quantize",
        nargs="*",
        choices=QUANTIZE,
        default=[],
        metavar="PRECISION",
        help=f"extra precisions besides float32 (TFLite, TensorRT): {', '.join(QUANTIZE)}",
    )
    parser.add_argument(
        "--calibration-data",
        default="synthetic",
        help="synthetic, mpii, coco, lsp or a folder of images (int8 calibration, verification)",
    )
    parser.add_argument(
        "--int8-recipe",
        nargs="+",
        choices=INT8_RECIPES,
        default=list(INT8_RECIPES),
        metavar="RECIPE",
        help=f"int8 recipes ({', '.join(INT8_RECIPES)}) tried in this order until one "
        "passes verification (see export.tflite)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="overwrite existing artifacts")
    parser.add_argument("--threads", type=int, default=2, help="runtime threads for latency")
    parser.add_argument(
        "--keep-unverified",
        action="store_true",
        help="keep artifacts that fail their parity check (report.json says passed: false; the "
        "exit status stays 1), e.g. to score them on labelled data with kerashg.evaluate: a "
        "model whose heatmaps have near-equal peaks moves joints under any rounding",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Exports as the parsed arguments say; returns the exit status (see above)."""
    from export import ExportError, export_model

    if args.threads < 1:
        raise InputError(f"--threads must be >= 1. Received: {args.threads}")
    try:
        report = export_model(
            args.model,
            args.out,
            formats=args.format,
            quantize=args.quantize,
            calibration_data=args.calibration_data,
            force=args.force,
            num_threads=args.threads,
            int8_recipes=args.int8_recipe,
            verify_gate=not args.keep_unverified,
        )
    except ExportError as error:  # an artifact failed its verification: see the report
        print(cli.error_line(error), file=sys.stderr)
        return 1
    failed = [e["name"] for e in report["artifacts"] if e.get("passed") is False]
    if failed:  # kept (--keep-unverified), and still not verified
        print(
            f"error: {', '.join(failed)} failed verification and were kept "
            f"(--keep-unverified); see {report['report_path']}",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv=None) -> int:
    """Entry point of `python -m export`; returns the exit status."""
    return cli.run(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
