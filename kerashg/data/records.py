"""`Records`: the per-person annotations every reader returns and tf.data consumes.

One record per person (top-down pose estimation). A `Records` holds them as
columns of NumPy arrays so the pipeline can index them with one gather:

| field        | dtype / shape      | meaning                                                  |
| ------------ | ------------------ | -------------------------------------------------------- |
| `image_path` | str (N,)           | image file, relative to the data root (`/` separators)  |
| `keypoints`  | float32 (N, K, 3)  | x, y in original-image pixels (0-based) and v            |
| `center`     | float32 (N, 2)     | person centre (x, y), original-image pixels              |
| `scale`      | float32 (N,)       | person box side / 200 (`kerashg.transforms.PIXEL_STD`)   |
| `head_size`  | float32 (N,)       | PCKh normaliser in pixels, NaN where unknown             |
| `id`         | int64 (N,)         | an identifier from the source (row, annotation id, ...) |

Visibility `v` follows COCO: 0 = not annotated (missing), 1 = annotated but
occluded, 2 = visible. Training uses every joint with v > 0.

Bringing your own data with its own joints
------------------------------------------
Build a keypoint set, then records, and hand both to the pipeline::

    from kerashg.keypoints import KeypointSet
    from kerashg.data.records import Records
    from training.data import make_train_dataset

    fish = KeypointSet.custom(
        "fish", names=["snout", "l_fin", "r_fin", "tail"],
        flip_pairs=[(1, 2)], skeleton=[(0, 1), (0, 2), (0, 3)],
    )
    records = Records.from_dicts(
        [{"image_path": "img/0001.jpg", "keypoints": kps_4x3, "center": (310, 200),
          "scale": 1.4}, ...],             # head_size / id optional
        keypoint_set=fish,
    )
    dataset = make_train_dataset(records, "/data/fish", input_size=256)

`KeypointSet.custom` gives the flip permutation the augmentation needs (joints in
no pair map to themselves) and the skeleton the drawings use; a model for it is
built with `num_keypoints=fish.num_keypoints`. Use
`kerashg.transforms.box_to_center_scale(x, y, w, h)` when you have a person box.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
from collections.abc import Iterable, Mapping

import numpy as np

from kerashg.errors import AnnotationError
from kerashg.keypoints import KeypointSet, get_keypoint_set

FIELDS = ("image_path", "keypoints", "center", "scale", "head_size", "id")
#: The largest image side a JPEG (or a PNG within `kerashg.images.MAX_IMAGE_PIXELS`
#: in practice) has, in pixels.
MAX_IMAGE_SIDE = 65535
#: An annotated joint farther than this from 0 on x or y lies more than an image
#: size outside any image read (1e30 is a unit or export mistake, not a position).
MAX_COORDINATE = 2 * MAX_IMAGE_SIDE


def _short(value, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (a whole JSON list can be long)."""
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_numbers(
    value, source, index, field, shape=None, dtype=np.float32, booleans: bool = True
) -> np.ndarray:
    """`value` as a numeric array, or `AnnotationError` naming the file, record and field.

    Args:
        value: what the file holds (a number, a nested list, an array).
        source, index, field: where it came from, for the message.
        shape: optional tuple the array must have (-1 allowed for one axis).
        dtype: the NumPy dtype to convert to. Default float32.
        booleans: bool, accept a boolean array (as 0 and 1). Default True; False
            for coordinates, which a boolean array cannot hold.

    Raises:
        AnnotationError: a string, a bytes value, a nested object or a
            ragged list where numbers are expected, a boolean array where
            `booleans` is False, or the wrong shape.
    """
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise AnnotationError(source, index, field, f"must hold numbers. Received: {_short(value)}")
    array = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if array.dtype.kind == "b" and not booleans:
        raise AnnotationError(
            source, index, field,
            f"must hold numbers (coordinates), not true/false values. Received: dtype bool, "
            f"shape {array.shape}",
        )  # fmt: skip
    if array.dtype.kind in "SU":
        raise AnnotationError(
            source, index, field,
            f"must hold numbers. Received: text {_short(array.ravel()[0] if array.size else value)}",
        )  # fmt: skip
    if array.dtype.kind == "O":
        bad = [v for v in array.ravel() if isinstance(v, (str, bytes, dict)) or v is None]
        if bad:
            raise AnnotationError(
                source, index, field,
                f"must hold numbers. Received: {_short(bad[0])} in {_short(value)}",
            )  # fmt: skip
    try:
        numbers = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise AnnotationError(
            source, index, field,
            f"must be a regular array of numbers. Received: {_short(value)}",
        ) from None  # fmt: skip
    if shape is not None:
        ok = numbers.ndim == len(shape) and all(
            s == -1 or s == d for s, d in zip(shape, numbers.shape, strict=True)
        )
        if not ok:
            wanted = tuple("N" if s == -1 else s for s in shape)
            raise AnnotationError(
                source, index, field,
                f"must have shape {wanted}. Received: shape {numbers.shape}",
            )  # fmt: skip
    return numbers


def to_number(value, source, index, field) -> float:
    """One number (a one-element list is accepted), or `AnnotationError`."""
    numbers = to_numbers(value, source, index, field, dtype=np.float64)
    if numbers.size != 1:
        raise AnnotationError(
            source, index, field, f"must be one number. Received: {_short(value)}"
        )
    return float(numbers.ravel()[0])


def check_type(value, types, source, index, field, expected: str):
    """`value` when it is one of `types`, else `AnnotationError` saying what was found."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        raise AnnotationError(
            source, index, field,
            f"must be {expected}. Received: {type(value).__name__} {_short(value)}",
        )  # fmt: skip
    return value


def check_relative_path(image_path: str, source="records", index=None) -> str:
    """Normalises `image_path` and refuses one that escapes the data root.

    Args:
        image_path: str, path relative to the data root.
        source: str, the annotation file (for the error message).
        index: int or None, the record index (for the error message).

    Returns:
        The path with `/` separators and no `.` components.

    Raises:
        AnnotationError: absolute paths, drive letters and `..` that leave the root.
    """
    text = str(image_path).replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise AnnotationError(
            source, index, "image_path",
            f"must be relative to the data root. Received: {image_path!r}",
        )  # fmt: skip
    parts = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise AnnotationError(
                    source, index, "image_path",
                    f"escapes the data root. Received: {image_path!r}",
                )  # fmt: skip
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise AnnotationError(source, index, "image_path", f"is empty. Received: {image_path!r}")
    return "/".join(parts)


def _point(xy) -> str:
    return f"[{float(xy[0]):g}, {float(xy[1]):g}]"


def check_joint_range(keypoints: np.ndarray, source, field: str = "keypoints", labels=None) -> None:
    """Refuses an annotated joint more than an image size outside any image read.

    Needs no image: `|x|` or `|y|` over `MAX_COORDINATE` is farther than that
    from the largest image (`check_joints_in_images` holds each person to its
    own image's size).

    Args:
        keypoints: float (N, K, 3), x, y, v.
        source, field: the file and its field, for the message.
        labels: optional sequence (N,) naming each person's record (default
            its position).

    Raises:
        AnnotationError: naming the first such record, joint and position.
    """
    keypoints = np.asarray(keypoints)
    with np.errstate(invalid="ignore"):
        far = (keypoints[..., 2] > 0) & (np.abs(keypoints[..., :2]) > MAX_COORDINATE).any(-1)
    if not far.any():
        return
    i, j = (int(a) for a in np.argwhere(far)[0])
    raise AnnotationError(
        source, i if labels is None else labels[i], field,
        f"joint {j} lies at {_point(keypoints[i, j])}, more than an image size outside any "
        f"image ({int(far.sum())} annotated joints of {len(keypoints)} people lie that far); "
        f"expected pixel coordinates between -{MAX_COORDINATE} and {MAX_COORDINATE}",
    )  # fmt: skip


def check_joints_in_images(records: Records, sizes: Mapping[str, tuple[int, int]]) -> int:
    """Holds each person's annotated joints to its image's size, before any training.

    A joint more than an image size outside its image (x < -width or
    x >= 2 × width, likewise y) is an annotation mistake (another image's
    coordinates, 1×1 images, a wrong unit). People none of whose annotated
    joints lie inside their image (0 <= x < width, 0 <= y < height) train on
    nothing: the pipeline marks joints outside the image missing. A data set
    all of whose people are such fails here, where training would have run on
    zero targets (loss 0, PCK nan).

    Args:
        records: `Records`.
        sizes: image path (as in `records.image_path`) → (width, height) in
            pixels; people whose image has no entry are not checked.

    Returns:
        The number of checked people with no annotated joint inside their image.

    Raises:
        AnnotationError: the first joint far outside its image (naming the
            record, joint, position and image size), or no checked person with
            a joint inside its image.
    """
    rows = np.flatnonzero([str(p) in sizes for p in records.image_path])
    if not rows.size:
        return 0
    size = np.array([sizes[str(records.image_path[i])] for i in rows], np.float64)[:, None, :]
    xy, annotated = records.keypoints[rows, :, :2], records.keypoints[rows, :, 2] > 0
    far = annotated & ((xy < -size) | (xy >= 2 * size)).any(-1)
    if far.any():
        r, j = (int(a) for a in np.argwhere(far)[0])
        i = int(rows[r])
        raise AnnotationError(
            records.source, i, "keypoints",
            f"joint {j} lies at {_point(xy[r, j])}, more than an image size outside its "
            f"image {records.image_path[i]} ({size[r, 0, 0]:g}x{size[r, 0, 1]:g} px; "
            f"{int(far.any(-1).sum())} of {rows.size} people have such joints); expected "
            "pixel coordinates of the image",
        )  # fmt: skip
    inside = (annotated & ((xy >= 0) & (xy < size)).all(-1)).any(-1)
    if not inside.any() and annotated.any():
        r, j = (int(a) for a in np.argwhere(annotated)[0])
        i = int(rows[r])
        raise AnnotationError(
            records.source, None, "keypoints",
            f"none of the {rows.size} people has an annotated joint inside its image, so "
            f"no crop would hold a joint (first: record {i}, joint {j} at {_point(xy[r, j])} "
            f"in {records.image_path[i]}, {size[r, 0, 0]:g}x{size[r, 0, 1]:g} px); expected "
            "pixel coordinates (x, y) of each image",
        )  # fmt: skip
    return int((~inside).sum())


@dataclasses.dataclass
class Records:
    """Columnar per-person annotations (see the module docstring for the fields).

    Args:
        image_path: str array (N,), relative to the data root.
        keypoints: float32 (N, K, 3), x, y, v in original-image pixels.
        center: float32 (N, 2).
        scale: float32 (N,), box side / 200 px.
        head_size: float32 (N,), NaN where unknown.
        id: int64 (N,).
        keypoint_set: `KeypointSet` whose joint order the keypoints follow.
        source: str, where the records came from (annotation file), for messages.
        skipped: dict str → int, annotations the reader left out, by reason.
    """

    image_path: np.ndarray
    keypoints: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    head_size: np.ndarray
    id: np.ndarray
    keypoint_set: KeypointSet
    source: str = "records"
    skipped: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.keypoint_set = get_keypoint_set(self.keypoint_set)
        self.image_path = np.asarray(self.image_path, dtype=str).reshape(-1)
        n = len(self.image_path)
        k = self.keypoint_set.num_keypoints
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        # No people: (0, K, 3) (reshape cannot infer the joint count from 0 values).
        self.keypoints = self.keypoints.reshape(n, -1 if n else k, 3)
        self.center = np.asarray(self.center, dtype=np.float32).reshape(n, 2)
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(n)
        self.head_size = np.asarray(self.head_size, dtype=np.float32).reshape(n)
        self.id = np.asarray(self.id, dtype=np.int64).reshape(n)
        if self.keypoints.shape[1] != k:
            raise AnnotationError(
                self.source, None, "keypoints",
                f"has {self.keypoints.shape[1]} joints per person but keypoint set "
                f"{self.keypoint_set.name!r} has {k}",
            )  # fmt: skip
        self.image_path = np.array(
            [check_relative_path(p, self.source, i) for i, p in enumerate(self.image_path)],
            dtype=str,
        ).reshape(n)
        self._check_values()

    def _check_values(self):
        bad_scale = np.flatnonzero(~(self.scale > 0))
        if bad_scale.size:
            i = int(bad_scale[0])
            raise AnnotationError(
                self.source, i, "scale", f"must be > 0. Received: {self.scale[i]}"
            )
        bad_center = np.flatnonzero(~np.isfinite(self.center).all(axis=1))
        if bad_center.size:
            i = int(bad_center[0])
            raise AnnotationError(
                self.source, i, "center", f"must be finite. Received: {self.center[i].tolist()}"
            )
        v = self.keypoints[..., 2]
        bad_v = np.argwhere(~np.isin(v, (0.0, 1.0, 2.0)))
        if bad_v.size:
            i, j = (int(a) for a in bad_v[0])
            raise AnnotationError(
                self.source, i, "keypoints",
                f"visibility of joint {j} must be 0, 1 or 2. Received: {v[i, j]}",
            )  # fmt: skip
        xy = self.keypoints[..., :2]
        bad_xy = np.argwhere((v > 0) & ~np.isfinite(xy).all(axis=-1))
        if bad_xy.size:
            i, j = (int(a) for a in bad_xy[0])
            raise AnnotationError(
                self.source, i, "keypoints",
                f"joint {j} is annotated (v > 0) but not finite. Received: {xy[i, j].tolist()}",
            )  # fmt: skip
        check_joint_range(self.keypoints, self.source)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_dicts(
        cls,
        items: Iterable[Mapping],
        keypoint_set: KeypointSet | str,
        source: str = "records",
        skipped: dict | None = None,
    ) -> Records:
        """Builds records from per-person dicts.

        Args:
            items: iterable of dicts with `image_path`, `keypoints` (K, 3), `center`
                (2,), `scale`; optional `head_size` (default NaN) and `id`
                (default the position).
            keypoint_set: `KeypointSet` or its name.
            source: str, shown in error messages.
            skipped: optional dict of counts of left-out annotations.

        Raises:
            AnnotationError: naming the item index and the field that is wrong.
        """
        keypoint_set = get_keypoint_set(keypoint_set)
        k = keypoint_set.num_keypoints
        columns = {name: [] for name in FIELDS}
        for i, item in enumerate(items):
            check_type(item, Mapping, source, i, None, "a dict of fields")
            for name in ("image_path", "keypoints", "center", "scale"):
                if name not in item:
                    raise AnnotationError(source, i, name, "is missing")
            kps = to_numbers(item["keypoints"], source, i, "keypoints", shape=(k, 3))
            center = to_numbers(item["center"], source, i, "center", shape=(2,))
            check_type(item["image_path"], (str, os.PathLike), source, i, "image_path", "a path")
            columns["image_path"].append(str(item["image_path"]))
            columns["keypoints"].append(kps)
            columns["center"].append(center)
            columns["scale"].append(to_number(item["scale"], source, i, "scale"))
            columns["head_size"].append(
                to_number(item.get("head_size", np.nan), source, i, "head_size")
            )
            ident = to_number(item.get("id", i), source, i, "id")
            if not np.isfinite(ident) or ident != int(ident):
                raise AnnotationError(source, i, "id", f"must be an integer. Received: {ident}")
            columns["id"].append(int(ident))
        n = len(columns["image_path"])
        return cls(
            image_path=np.array(columns["image_path"], dtype=str).reshape(n),
            keypoints=np.array(columns["keypoints"], dtype=np.float32).reshape(n, k, 3),
            center=np.array(columns["center"], dtype=np.float32).reshape(n, 2),
            scale=np.array(columns["scale"], dtype=np.float32),
            head_size=np.array(columns["head_size"], dtype=np.float32),
            id=np.array(columns["id"], dtype=np.int64),
            keypoint_set=keypoint_set,
            source=source,
            skipped=dict(skipped or {}),
        )

    # ----------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self.image_path)

    @property
    def num_keypoints(self) -> int:
        return self.keypoint_set.num_keypoints

    def __getitem__(self, index) -> Records | dict:
        """An int gives one record as a dict; a slice or index array a new `Records`."""
        if isinstance(index, (int, np.integer)):
            return {name: getattr(self, name)[index] for name in FIELDS}
        return dataclasses.replace(
            self,
            **{name: getattr(self, name)[index] for name in FIELDS},
            skipped=dict(self.skipped),
        )

    def columns(self) -> dict[str, np.ndarray]:
        """The six columns as a dict of arrays."""
        return {name: getattr(self, name) for name in FIELDS}

    def unique_images(self) -> np.ndarray:
        """The distinct image paths, sorted."""
        return np.unique(self.image_path)

    # ------------------------------------------------------------------ cache
    def save(self, path: str | os.PathLike) -> None:
        """Writes the records to a `.npz` file (a cache; see `Records.load`)."""
        ks = self.keypoint_set
        np.savez(
            path,
            **self.columns(),
            set_name=ks.name,
            set_names=np.array(ks.names, dtype=str),
            set_flip_pairs=np.array(ks.flip_pairs, dtype=np.int32).reshape(-1, 2),
            set_skeleton=np.array(ks.skeleton, dtype=np.int32).reshape(-1, 2),
            source=self.source,
            skipped_keys=np.array(list(self.skipped), dtype=str),
            skipped_values=np.array(list(self.skipped.values()), dtype=np.int64),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Records:
        """Reads records written by `Records.save`."""
        with np.load(path, allow_pickle=False) as data:
            keypoint_set = KeypointSet.custom(
                str(data["set_name"]),
                data["set_names"].tolist(),
                data["set_flip_pairs"].tolist(),
                data["set_skeleton"].tolist(),
            )
            return cls(
                **{name: data[name] for name in FIELDS},
                keypoint_set=keypoint_set,
                source=str(data["source"]),
                skipped=dict(
                    zip(data["skipped_keys"].tolist(), data["skipped_values"].tolist(), strict=True)
                ),
            )


def concatenate(parts: list[Records]) -> Records:
    """Joins records that share a keypoint set (ids are kept as they are)."""
    if not parts:
        raise ValueError("concatenate needs at least one Records. Received: []")
    names = {p.keypoint_set.names for p in parts}
    if len(names) != 1:
        raise ValueError(
            f"Records to concatenate must share a keypoint set. Received: "
            f"{[p.keypoint_set.name for p in parts]}"
        )
    skipped: dict = {}
    for p in parts:
        for key, value in p.skipped.items():
            skipped[key] = skipped.get(key, 0) + value
    return Records(
        **{name: np.concatenate([getattr(p, name) for p in parts]) for name in FIELDS},
        keypoint_set=parts[0].keypoint_set,
        source="+".join(p.source for p in parts),
        skipped=skipped,
    )


def cache_key(*items) -> str:
    """A short hash of file identities (path, size, mtime) and reader options."""
    digest = hashlib.sha1()
    for item in items:
        if isinstance(item, (str, os.PathLike)) and os.path.exists(item):
            stat = os.stat(item)
            item = f"{os.path.abspath(item)}:{stat.st_size}:{stat.st_mtime_ns}"
        digest.update(repr(item).encode())
    return digest.hexdigest()[:16]


def relative_to(path: pathlib.Path, root: pathlib.Path) -> str:
    """`path` relative to `root` with `/` separators (both may be relative to cwd)."""
    return pathlib.Path(os.path.relpath(path, root)).as_posix()
