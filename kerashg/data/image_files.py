"""The image files a `Records` lists: found, decodable, and holding their people.

`check_image_files` runs before any crop is made, for training (its data set and
its validation) and for evaluation (`kerashg.evaluation.model_predictions`), so a
data set of missing images or of joints far outside their images fails at once
with one line. Imports no TensorFlow.
"""

from __future__ import annotations

import logging
import os
import pathlib

import numpy as np

from kerashg.data.records import Records, check_joints_in_images
from kerashg.errors import InputError
from kerashg.images import ImageError, image_file_problem, image_size, read_image_file

logger = logging.getLogger(__name__)


def check_image_files(records: Records, data_root: str | os.PathLike) -> dict[str, str]:
    """Refuses a data set none of whose image files can be read, before any work starts.

    Every distinct image file the records list is looked up (exists, is a file,
    is not empty); then files are decoded (at reduced size, in order) until one
    decodes. Without that check a data set of missing images makes the
    pipeline filter out every sample: training dies inside the TensorFlow
    iterator and a benchmark waits forever. The annotated joints are then held
    to the sizes in the found images' headers
    (`kerashg.data.records.check_joints_in_images`): a joint more than an image
    size outside its image, or no person with a joint inside its image, is an
    `AnnotationError`.

    Args:
        records: `Records` whose `image_path`s are relative to `data_root`.
        data_root: the data set root.

    Returns:
        dict image path (relative) → reason, for the files found unusable (the
        pipeline skips their people; a counted warning is logged when any).
        Damaged files past the first readable one are found by the pipeline.

    Raises:
        InputError: `N of N images listed in FILE cannot be read (first: PATH: why)`.
    """
    root = pathlib.Path(data_root)
    paths = [str(p) for p in records.unique_images()]
    problems: dict[str, str] = {}
    candidates = []
    for relative in paths:
        problem = image_file_problem(root / relative)
        if problem is None:
            candidates.append(relative)
        else:
            problems[relative] = problem
    for relative in candidates:
        try:
            read_image_file(root / relative, reduction=8)
            break
        except ImageError as error:
            problems[relative] = str(error)
    else:
        first = next(iter(problems), None)
        where = f" (first: {root / first}: {problems[first]})" if first else ""
        error = InputError(
            f"{len(paths)} of {len(paths)} images listed in {records.source} cannot be read"
            f"{where}; expected image files under {root}"
        )
        error.path = records.source
        raise error
    _check_joint_positions(records, root, candidates)
    if problems:
        # Counted here; each file is named once when the pipeline meets it.
        people = int(np.isin(records.image_path, list(problems)).sum())
        logger.warning(
            "%d of %d images listed in %s cannot be read (missing, empty or not an image); "
            "their %d people are skipped",
            len(problems), len(paths), records.source, people,
        )  # fmt: skip
    return problems


def _check_joint_positions(records: Records, root: pathlib.Path, files: list[str]) -> None:
    """`kerashg.data.records.check_joints_in_images` with the sizes in the headers of
    `files` (found files, relative to `root`); people without joints inside their
    image are a counted warning."""
    sizes = {relative: image_size(root / relative) for relative in files}
    sizes = {relative: size for relative, size in sizes.items() if size is not None}
    lost = check_joints_in_images(records, sizes)
    if lost:
        logger.warning(
            "%d of %d people in %s have no annotated joint inside their image; their crops "
            "carry no target",
            lost, len(records), records.source,
        )  # fmt: skip
