"""`python -m kerashg.data.synthetic`: writes synthetic samples as files or a preview.

Usage::

    python -m kerashg.data.synthetic --out DIR --format mpii|coco|preview --n N --seed S
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import cv2

from kerashg import cli
from kerashg.data.synthetic.difficulty import parse_difficulty, resolve_config
from kerashg.data.synthetic.preview import preview_grid
from kerashg.data.synthetic.render import _check_common
from kerashg.data.synthetic.writers import (
    _SPLITS,
    annotation_path,
    write_coco_json,
    write_mpii_h5,
)
from kerashg.errors import InputError
from kerashg.outputs import OutputExistsError, atomic_output, check_output_file, check_output_folder

PROG = "python -m kerashg.data.synthetic"
DESCRIPTION = "Embedded synthetic pose data: procedurally rendered people in the MPII layout."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m kerashg.data.synthetic`."""
    parser = cli.parser(PROG, DESCRIPTION)
    parser.add_argument(
        "--out", required=True, help="output folder (or PNG file with --format preview)"
    )
    parser.add_argument(
        "--format",
        choices=("mpii", "coco", "preview"),
        default="mpii",
        help="mpii: images/ and annot/<split>.h5; coco: images/ and a keypoints JSON; "
        "preview: one PNG grid of the samples",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing preview file or the split's annotation file (default: refuse)",
    )
    parser.add_argument("--n", type=int, default=1000, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the figures")
    parser.add_argument("--start", type=int, default=0, help="first sample index")
    parser.add_argument(
        "--split",
        choices=_SPLITS,
        default=None,
        help="split name: train (default), valid (mpii's) or val (coco's)",
    )
    parser.add_argument("--image-size", type=int, default=256, help="image side in pixels")
    parser.add_argument(
        "--difficulty", default="moderate", help="easy, moderate, hard or a level in [0, 1]"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="rendering threads (default: one per core, at most 2)",
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Writes the samples the parsed arguments describe."""
    cli.check_positive(args, "n", "image_size")
    if args.start < 0:
        raise InputError(f"--start must be >= 0. Received: {args.start}")
    difficulty = parse_difficulty(args.difficulty)
    resolve_config(difficulty)  # InputError for an unknown one, before any work
    common = dict(
        seed=args.seed, image_size=args.image_size, difficulty=difficulty, start=args.start
    )
    _check_common(args.start, args.seed, args.image_size)  # before any folder is made
    if args.format == "preview":
        check_output_file(args.out, args.force, "--out", (".png", ".jpg", ".jpeg"))
        grid = preview_grid(args.n, **common)
        with atomic_output(args.out, force=True) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
                raise InputError(f"--out {args.out}: cannot be written as an image")
        print(f"wrote {args.out}")
        return
    check_output_folder(args.out)
    annotations = annotation_path(args.out, args.format, args.split or "train")
    if annotations.exists() and not args.force:
        raise OutputExistsError(
            "--out: the folder already holds this split's annotations (a written data set); "
            "expected another --out or --split, or --force to replace them",
            path=annotations,
        )
    writer = write_mpii_h5 if args.format == "mpii" else write_coco_json
    path = writer(args.out, args.n, split=args.split or "train", workers=args.workers, **common)
    print(f"wrote {args.n} samples: {path}")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m kerashg.data.synthetic --out DIR --format mpii|coco --n N --seed S`."""
    cli.run(build_parser, run, argv)
