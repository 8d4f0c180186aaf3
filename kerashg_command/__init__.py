"""The kerashg command: every tool of the project behind one name.

    kerashg predict photo.jpg --out out/          # python -m kerashg.predict
    kerashg train --stacks 4                      # python -m training.train
    kerashg evaluate --model m.keras --data lsp   # python -m kerashg.evaluate
    kerashg export --model m.keras --format tflite
    kerashg benchmark model --stacks 2            # python -m benchmarks.model
    kerashg presets                               # the named models

`kerashg COMMAND ARGS` runs the command's own `main(ARGS)`, the same parser
and options as its `python -m` form (which keeps working);
`kerashg COMMAND --help` shows them. This module imports only the standard
library and names each command's module as text, importing it only when that
command runs: `kerashg --help` answers at once, with no TensorFlow.

It sits above every part of the project (the library, `training/`, `export/`,
`benchmarks/`), outside the `kerashg` package: the library imports none of them.
"""

from __future__ import annotations

import argparse
import importlib

from kerashg import cli

# Command → (its module, one line of help).
COMMANDS = {
    "predict": ("kerashg.predict", "pose keypoints of an image, a folder or a video"),
    "train": ("training.train", "train a stacked hourglass or ACNN"),
    "evaluate": ("kerashg.evaluate", "score a model or prediction files (PCK, PCKh, COCO AP)"),
    "export": ("export.__main__", "export a .keras model to SavedModel, TFLite, ONNX, TensorRT"),
    "visualize": ("training.visualize", "draw data set samples with their keypoints"),
    "synthetic": ("kerashg.data.synthetic.cli", "render the synthetic figure data set"),
    "benchmark": (None, "measure speed and accuracy: kerashg benchmark NAME --help"),
    "presets": (None, "list the named models, with their sizes, data and metrics"),
}
# `kerashg benchmark NAME` → its module.
BENCHMARKS = {
    "codec": "benchmarks.codec",
    "data": "benchmarks.data",
    "export": "benchmarks.export",
    "model": "benchmarks.model",
    "torch-hourglass": "benchmarks.torch_hourglass",
    "whole-image": "benchmarks.whole_image",
    "peer-table": "benchmarks.peer_table",
    "plot-history": "benchmarks.plot_history",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: a command and the rest of the line, which goes to it."""
    lines = [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    parser = cli.parser(
        "kerashg",
        __doc__,
        epilog="commands:\n" + "\n".join(lines),
    )
    parser.add_argument("command", choices=tuple(COMMANDS), metavar="COMMAND", help="the tool")
    parser.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help="the command's own arguments (`kerashg COMMAND --help`)",
    )
    return parser


def _benchmark_module(args: list[str]) -> tuple[str, list[str]]:
    """(module, its arguments) of `kerashg benchmark NAME ARGS`."""
    parser = cli.parser("kerashg benchmark", "Benchmarks: `kerashg benchmark NAME --help`.")
    parser.add_argument("name", choices=tuple(BENCHMARKS), help="the benchmark")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its own arguments")
    parsed = parser.parse_args(args)
    return BENCHMARKS[parsed.name], parsed.args


def _print_presets() -> int:
    from kerashg.presets import list_presets

    for name, meta in list_presets().items():
        width, height = meta["input_size"]
        print(f"{name:<18} {meta['class']:<17} {meta['parameters']:>11,} parameters  "
              f"{width}x{height}  {meta['num_keypoints']} joints")  # fmt: skip
        print(f"    {meta['description']}")
        if meta["trained"]:
            print(f"    trained on {meta['data']}: {meta['metric']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs `kerashg COMMAND ARGS`; returns the command's exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "presets":
        return _print_presets()
    module, rest, typed = COMMANDS[args.command][0], args.args, f"kerashg {args.command}"
    if args.command == "benchmark":
        module, rest = _benchmark_module(rest)
        typed = f"kerashg benchmark {next(k for k, v in BENCHMARKS.items() if v == module)}"
    with cli.invoked_as(typed):
        result = importlib.import_module(module).main(rest)
    # `training.train.main` returns the run's metrics, `visualize` None: success.
    return result if isinstance(result, int) else 0
