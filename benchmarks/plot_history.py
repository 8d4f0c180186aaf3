"""Validation PCK against training hours, drawn from training runs' `metrics.json`.

    python -m benchmarks.plot_history runs/lsp-loose/metrics.json --out docs/shipped_curve.png \\
        --offset-hours 1.27 --title "acnn4_lsp_128: LSP-extended held-out split"

Each run's `history` (one record an epoch: `seconds` of optimizer steps over all
resumes, `pck` with the annotated box, `pck_whole` on the whole image where the
run scored it) becomes a line per metric. Runs given in order continue one
another on the time axis (a run started `--init-from` the previous one);
`--offset-hours` adds the training before the first run (its own pretraining).
Needs matplotlib (`pip install matplotlib`; in the dev extras).
"""

from __future__ import annotations

import argparse
import json
import pathlib

from kerashg import cli
from kerashg.errors import InputError
from kerashg.outputs import check_output_file

METRICS = {"pck": "annotated box", "pck_whole": "whole image, one pass"}


def read_history(path) -> tuple[list[dict], str]:
    """The epoch records of a `metrics.json` and its metric's name."""
    path = pathlib.Path(path)
    try:
        metrics = json.loads(path.read_text())
        history = metrics["history"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read a run's history: {error}", path=path) from error
    if not history:
        raise InputError("holds no validated epoch (history is empty)", path=path)
    return history, metrics.get("pck_label", "PCK")


def curves(paths, offset_hours=0.0) -> dict[str, tuple[list[float], list[float]]]:
    """{metric: (hours, values)} over the runs in order, each continuing the last."""
    lines: dict[str, tuple[list[float], list[float]]] = {}
    start = float(offset_hours)
    for path in paths:
        history, _ = read_history(path)
        for record in history:
            hours = start + float(record["seconds"]) / 3600.0
            for key in METRICS:
                if record.get(key) is not None:
                    xs, ys = lines.setdefault(key, ([], []))
                    xs.append(hours)
                    ys.append(float(record[key]))
        start += float(history[-1]["seconds"]) / 3600.0
    return lines


def plot(paths, out, offset_hours=0.0, title=None) -> pathlib.Path:
    """Draws `curves` into the PNG `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = curves(paths, offset_hours)
    _, label = read_history(paths[0])
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for key, (xs, ys) in lines.items():
        axes.plot(xs, ys, marker="o", markersize=3, label=METRICS[key])
    if offset_hours:
        axes.axvline(offset_hours, color="grey", linestyle=":", linewidth=1)
    axes.set_xlabel("training hours (optimizer steps, 2 CPU cores)")
    axes.set_ylabel(f"val {label} (%)")
    axes.set_title(title or "validation PCK during training")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    out = pathlib.Path(out)
    figure.savefig(out)
    plt.close(figure)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("python -m benchmarks.plot_history", __doc__)
    parser.add_argument("metrics", nargs="+", help="metrics.json of each run, in order")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--offset-hours", type=float, default=0.0, help="training before")
    parser.add_argument("--title", default=None, help="the plot's title")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    return parser


def _command(args: argparse.Namespace) -> int:
    out = check_output_file(args.out, args.force, suffixes=(".png",))
    print(f"wrote {plot(args.metrics, out, args.offset_hours, args.title)}")
    return 0


def main(argv=None) -> int:
    return cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
