"""COCO keypoint AP through pycocotools, and the checks that keep it honest.

`keypoints_to_coco_results` writes result records from arrays, `check_coco_ground_truth`
and `check_coco_results` refuse input pycocotools would score silently wrong, and
`coco_keypoint_ap` runs `COCOeval(iouType="keypoints")`. NumPy only (pycocotools
inside `coco_keypoint_ap`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io

import numpy as np

# Pixels a labelled COCO ground-truth joint may lie past the right or bottom
# image edge (COCO writes x = width for a joint on the last column).
COCO_EDGE_TOLERANCE = 1.0
COCO_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
# OKS falloff of every joint of a keypoint category that gives no `sigmas` of
# its own: COCO's per-joint sigmas run from 0.025 (eyes) to 0.107 (hips), 0.05 is
# about their median at the head and arms; an OKS of 0.5 then needs a joint
# within ~1.2 × 0.05 × sqrt(area) px. Give the category a `sigmas` list (K
# numbers, as mmpose's dataset metadata does) to score your joints as you mean.
DEFAULT_OKS_SIGMA = 0.05


@dataclasses.dataclass(frozen=True)
class KeypointCategory:
    """The keypoint category that COCO AP scores in an annotation file.

    `keypoint_set` (names, flip pairs, skeleton: `kerashg.data.coco.coco_keypoint_set`),
    `category_ids` (the annotations scored), `sigmas`: float (K,) OKS sigmas, or
    None for COCO's 17 joints (pycocotools' own), and `sigma_source` saying where
    they come from ("COCO", "the category's sigmas", or the default's value).
    """

    keypoint_set: object
    category_ids: tuple[int, ...]
    sigmas: np.ndarray | None
    sigma_source: str

    @property
    def num_keypoints(self) -> int:
        return self.keypoint_set.num_keypoints


def keypoint_category(
    dataset: dict, source: str = "ground truth", category: str | None = None
) -> KeypointCategory:
    """The keypoint category of `dataset` that COCO AP scores, with its OKS sigmas.

    Args:
        dataset: the parsed annotation dict.
        source: str, named in messages (the file).
        category: the category's name, or None: the file's one category with
            keypoints (COCO persons where it has none).

    Returns:
        `KeypointCategory`. Sigmas: the category's own `sigmas` (K positive
        numbers) where it gives them, pycocotools' COCO sigmas for COCO's 17
        joints, else `DEFAULT_OKS_SIGMA` for every joint.

    Raises:
        ValueError (`kerashg.errors.AnnotationError`): no such category, several
            without a choice, or malformed `keypoints`, `skeleton` or `sigmas`.
    """
    from kerashg.data.coco import coco_keypoint_set
    from kerashg.errors import AnnotationError
    from kerashg.keypoints import COCO

    keypoint_set, ids, found = coco_keypoint_set(dataset, source, category)
    k = keypoint_set.num_keypoints
    given = None if found is None else found.get("sigmas")
    if given is not None:
        sigmas = np.asarray(given, dtype=object).ravel()
        ok = sigmas.shape == (k,) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in sigmas
        )
        if not ok or not np.isfinite(sigmas.astype(np.float64)).all():
            raise AnnotationError(
                source, None, "sigmas",
                f"must be {k} positive numbers, one per joint of category "
                f"{keypoint_set.name!r}. Received: {given!r}",
            )  # fmt: skip
        return KeypointCategory(
            keypoint_set, tuple(sorted(ids)), sigmas.astype(np.float64), "the category's sigmas"
        )
    if keypoint_set is COCO:
        return KeypointCategory(keypoint_set, tuple(sorted(ids)), None, "COCO")
    sigmas = np.full(k, DEFAULT_OKS_SIGMA)
    return KeypointCategory(
        keypoint_set, tuple(sorted(ids)), sigmas, f"default {DEFAULT_OKS_SIGMA:g} per joint"
    )


def keypoints_to_coco_results(image_ids, keypoints, scores, category_id=1):
    """COCO result records (the JSON `loadRes` reads) from arrays.

    Args:
        image_ids: int (N,), the COCO image id of each person.
        keypoints: float (N, 17, 2) or (N, 17, 3) in original-image pixels (a third
            column, if any, is written as the keypoint score; else 1).
        scores: float (N,), person scores (ranking for AP).
        category_id: int, default 1 (person).

    Returns:
        list of dicts `{"image_id", "category_id", "keypoints": [x, y, s] * 17, "score"}`.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    image_ids = np.asarray(image_ids).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if keypoints.ndim != 3 or keypoints.shape[-1] not in (2, 3):
        raise ValueError(
            f"keypoints must have shape (N, K, 2|3). Received: shape={keypoints.shape}"
        )
    n = keypoints.shape[0]
    if image_ids.shape != (n,) or scores.shape != (n,):
        raise ValueError(
            f"image_ids and scores must have shape ({n},). Received: image_ids shape="
            f"{image_ids.shape}, scores shape={scores.shape}"
        )
    if keypoints.shape[-1] == 2:
        keypoints = np.concatenate([keypoints, np.ones_like(keypoints[..., :1])], axis=-1)
    if not np.isfinite(keypoints).all() or not np.isfinite(scores).all():
        raise ValueError("keypoints and scores must be finite. Received: non-finite values")
    return [
        {
            "image_id": int(image_ids[i]),
            "category_id": int(category_id),
            "keypoints": [round(float(v), 3) for v in keypoints[i].reshape(-1)],
            "score": float(scores[i]),
        }
        for i in range(n)
    ]


def _number_problem(field: str, value, size: int) -> str | None:
    """None when `value` is `size` finite numbers, else what was found and expected."""
    flat = np.ravel(np.asarray(value, dtype=object))
    numbers = np.array([_as_float(v) for v in flat], dtype=np.float64)
    expected = f"expected {size} finite number{'s' if size > 1 else ''}"
    if numbers.size != size:
        return f"holds {numbers.size} values; {expected}"
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        j = int(bad[0])
        where = f"joint {j // 3} {'xyv'[j % 3]}" if field == "keypoints" else f"index {j}"
        return (
            f"holds {flat[j]!r} at {where} ({bad.size} non-finite or non-numeric values); "
            f"{expected}"
        )
    return None


def _is_int(value) -> bool:
    """An integer JSON value (not a bool, which JSON keeps apart)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _brief(value, limit: int = 60) -> str:
    """`type value` for a message, cut to `limit` characters."""
    text = repr(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def _as_float(value) -> float:
    if isinstance(value, bool | int | float | np.number):
        return float(value)
    return float("nan")


def check_coco_ground_truth(
    dataset: dict,
    source: str = "ground truth",
    num_keypoints: int = 17,
    tolerance: float = COCO_EDGE_TOLERANCE,
    category_ids=None,
) -> None:
    """Refuses COCO ground truth that pycocotools would score silently wrong.

    Checked, for every annotation of a scored category (the `categories` ids):
    `keypoints` is 3K finite numbers, `bbox` four and `area` one finite number,
    and every labelled joint (v > 0) lies in its image: 0 <= x <= width +
    `tolerance` and 0 <= y <= height + `tolerance` (without a width and height
    in `images`, only x, y >= 0). NaN ground truth would otherwise score any
    detection as perfect.

    Args:
        dataset: the parsed annotation dict (`images`, `annotations`, `categories`).
        source: str, named first in the message (the file).
        num_keypoints: int, K. Default 17.
        tolerance: float, pixels a joint may lie past the right or bottom edge.
        category_ids: the ids of the scored category (`keypoint_category`), or
            None: every category of `categories`.

    Raises:
        ValueError: `"{source}: annotation {i}: field {name!r}: ..."` for the first
            bad annotation (i = its position in `annotations`).
    """
    for key in ("images", "annotations", "categories"):
        if not isinstance(dataset.get(key) or [], list):
            raise ValueError(
                f"{source}: field {key!r}: is a {type(dataset[key]).__name__}; expected a list"
            )
    scored = _category_ids(dataset, source)
    if category_ids is not None:
        scored &= set(category_ids)
    sizes = _image_sizes(dataset, source)
    image_ids = {image["id"] for image in dataset.get("images") or []}
    annotation_ids = {}
    for i, annotation in enumerate(dataset.get("annotations") or []):
        label = _check_annotation_ids(annotation, i, source, annotation_ids)
        if annotation["category_id"] not in scored:
            continue  # pycocotools never looks at it
        _check_scored_fields(annotation, label, image_ids, num_keypoints)
        _check_joints_inside(annotation, label, sizes.get(annotation["image_id"]), tolerance)


def _category_ids(dataset: dict, source: str) -> set:
    """The ids of `categories`, each entry checked."""
    ids = set()
    for i, category in enumerate(dataset.get("categories") or []):
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            raise ValueError(
                f"{source}: category {i}: is {_brief(category)}; expected an object with an "
                "integer 'id'"
            )
        ids.add(category["id"])
    return ids


def _image_sizes(dataset: dict, source: str) -> dict:
    """`{image id: (width, height)}` of the images that give a positive size; every
    entry an object with an integer `id` that no other entry repeats."""
    sizes, positions = {}, {}
    for i, image in enumerate(dataset.get("images") or []):
        if not isinstance(image, dict) or not _is_int(image.get("id")):
            raise ValueError(
                f"{source}: image {i}: is {_brief(image)}; expected an object with an integer "
                "'id' (and 'width', 'height')"
            )
        if image["id"] in positions:
            raise ValueError(
                f"{source}: image {i}: field 'id': repeats image {positions[image['id']]}'s id "
                f"{image['id']}; expected one entry per image id (pycocotools would keep only "
                "one of them)"
            )
        positions[image["id"]] = i
        size = (_as_float(image.get("width")), _as_float(image.get("height")))
        if all(np.isfinite(size)) and min(size) > 0:
            sizes[image["id"]] = size
    return sizes


def _check_annotation_ids(annotation, i: int, source: str, seen: dict) -> str:
    """Checks the ids pycocotools indexes every annotation by (scored or not),
    records `id` in `seen`, and returns the annotation's label for messages."""
    if not isinstance(annotation, dict):
        raise ValueError(f"{source}: annotation {i}: is {_brief(annotation)}; expected an object")
    label = f"{source}: annotation {i} (id {annotation.get('id')})"
    for field in ("id", "image_id", "category_id"):
        if not _is_int(annotation.get(field)):
            found = "missing" if field not in annotation else _brief(annotation[field])
            raise ValueError(f"{label}: field {field!r}: is {found}; expected an integer")
    if annotation["id"] in seen:
        raise ValueError(
            f"{label}: field 'id': repeats annotation {seen[annotation['id']]}'s "
            "id; pycocotools would keep only one of them"
        )
    seen[annotation["id"]] = i
    return label


def _check_scored_fields(annotation: dict, label: str, image_ids: set, num_keypoints: int):
    """A scored annotation's `image_id`, `num_keypoints`, `keypoints`, `bbox`, `area`."""
    if annotation["image_id"] not in image_ids:
        raise ValueError(
            f"{label}: field 'image_id': {annotation['image_id']} names no entry of "
            "'images'; pycocotools would never score this person"
        )
    if "num_keypoints" not in annotation:
        raise ValueError(f"{label}: field 'num_keypoints': is missing; pycocotools needs it")
    if not _is_int(annotation["num_keypoints"]) or annotation["num_keypoints"] < 0:
        raise ValueError(
            f"{label}: field 'num_keypoints': is {_brief(annotation['num_keypoints'])}; "
            "expected a count >= 0"
        )
    for field, size in (("keypoints", 3 * int(num_keypoints)), ("bbox", 4), ("area", 1)):
        if field not in annotation:
            raise ValueError(f"{label}: field {field!r}: is missing; pycocotools needs it")
        problem = _number_problem(field, annotation[field], size)
        if problem:
            raise ValueError(f"{label}: field {field!r}: {problem}")


def _check_joints_inside(annotation: dict, label: str, size, tolerance: float) -> None:
    """Every labelled joint within the image of `size` (width, height), or x, y >= 0
    where the size is unknown (None)."""
    keypoints = np.asarray(annotation["keypoints"], np.float64).reshape(-1, 3)
    limit = (np.inf, np.inf) if size is None else (size[0] + tolerance, size[1] + tolerance)
    x, y, v = keypoints.T
    outside = (v > 0) & ((x < 0) | (y < 0) | (x > limit[0]) | (y > limit[1]))
    if not outside.any():
        return
    j = int(np.flatnonzero(outside)[0])
    if size is None:
        expected = "x >= 0 and y >= 0"
    else:
        expected = (
            f"0 <= x <= {limit[0]:g} and 0 <= y <= {limit[1]:g} (image "
            f"{annotation.get('image_id')} is {size[0]:g} x {size[1]:g}, "
            f"{tolerance:g} px tolerance)"
        )
    raise ValueError(
        f"{label}: field 'keypoints': joint {j} (v={v[j]:g}) at x={x[j]:g}, "
        f"y={y[j]:g} lies outside the image ({int(outside.sum())} labelled joints "
        f"of this annotation do); expected {expected}"
    )


def check_coco_results(
    results, category_ids, source: str = "results", num_keypoints: int = 17
) -> None:
    """Refuses COCO keypoint results that pycocotools would score silently wrong.

    Each result needs 3K finite `keypoints`, a finite `score` and a `category_id`
    among `category_ids` (pycocotools drops the others without a word: AP 0).

    Args:
        results: list of result dicts.
        category_ids: the ground truth's scored category ids.
        source: str, named first in the message (the file).
        num_keypoints: int, K. Default 17.

    Raises:
        ValueError: `"{source}: entry {i}: field {name!r}: ..."` for the first bad result.
    """
    category_ids = set(category_ids)
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise ValueError(f"{source}: entry {i}: is not an object")
        for field, size in (("keypoints", 3 * int(num_keypoints)), ("score", 1)):
            if field not in result:
                raise ValueError(f"{source}: entry {i}: field {field!r}: is missing")
            problem = _number_problem(field, result[field], size)
            if problem:
                raise ValueError(f"{source}: entry {i}: field {field!r}: {problem}")
        if not _is_int(result.get("image_id")):
            found = "missing" if "image_id" not in result else _brief(result["image_id"])
            raise ValueError(
                f"{source}: entry {i}: field 'image_id': is {found}; expected an integer"
            )
        if not _is_int(result.get("category_id")) or result["category_id"] not in category_ids:
            raise ValueError(
                f"{source}: entry {i}: field 'category_id': is {result.get('category_id')!r}, "
                f"not a category the ground truth scores; expected one of {sorted(category_ids)}"
            )


def coco_keypoint_ap(ground_truth, results, image_ids=None, verbose=False, category=None):
    """COCO keypoint AP/AR through pycocotools (`COCOeval(iouType="keypoints")`).

    Scores the file's keypoint category (`keypoint_category`): COCO persons with
    pycocotools' sigmas, or your own category with its `sigmas` or
    `DEFAULT_OKS_SIGMA` for every joint.

    Args:
        ground_truth: a `pycocotools.coco.COCO` or the annotation dict (the parsed
            `person_keypoints_*.json`).
        results: list of result dicts (see `keypoints_to_coco_results`).
        image_ids: optional int sequence, restrict the evaluation to these images.
            Default: every image of the ground truth.
        verbose: bool, let pycocotools print its summary. Default False.
        category: the keypoint category's name (needed where the file has
            several). Default None.

    Returns:
        dict of floats: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (fractions in
        [0, 1] as pycocotools reports them; -1 where undefined).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if isinstance(ground_truth, dict):
        coco_gt = COCO()
        coco_gt.dataset = ground_truth
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt.createIndex()
    else:
        coco_gt = ground_truth
    results = list(results)
    if not results:
        raise ValueError("results is empty: COCO AP needs at least one detection")
    scored = keypoint_category(coco_gt.dataset, category=category)
    k = scored.num_keypoints
    check_coco_ground_truth(coco_gt.dataset, num_keypoints=k, category_ids=scored.category_ids)
    check_coco_results(results, scored.category_ids, num_keypoints=k)
    unknown = {r["image_id"] for r in results} - set(coco_gt.getImgIds())
    if unknown:
        raise ValueError(
            f"results name {len(unknown)} image ids absent from the ground truth. "
            f"Received: image_id={sorted(unknown)[:5]}"
        )
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with sink:
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        evaluator.params.catIds = list(scored.category_ids)
        if scored.sigmas is not None:
            evaluator.params.kpt_oks_sigmas = scored.sigmas
        if image_ids is not None:
            evaluator.params.imgIds = [int(i) for i in image_ids]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(COCO_STAT_NAMES, evaluator.stats, strict=True)}
