"""Keypoint sets: joint names, left/right flip pairs and skeleton edges as data.

A keypoint set is the one place that knows a data set's joints. Adding a data set
with its own joints means adding a `KeypointSet` here (or building one at run time
with `KeypointSet.custom`) and a reader; nothing else changes.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np


@dataclasses.dataclass(frozen=True)
class KeypointSet:
    """A named list of joints with their left/right symmetry and skeleton.

    Args:
        name: str, short identifier (`"mpii"`, `"coco"`, `"lsp"`, or a custom name).
        names: tuple of str, the joint names in the order the heatmap channels use.
        flip_pairs: tuple of (int, int), joint indices that swap under a horizontal
            flip (left <-> right). Joints in no pair map to themselves.
        skeleton: tuple of (int, int), edges drawn between joints.
    """

    name: str
    names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    skeleton: tuple[tuple[int, int], ...]

    def __post_init__(self):
        k = len(self.names)
        if k < 1:
            raise ValueError(
                f"A keypoint set needs at least one joint. Received: names={self.names}"
            )
        if len(set(self.names)) != k:
            raise ValueError(f"Joint names must be unique. Received: names={self.names}")
        seen: set[int] = set()
        for pair in (*self.flip_pairs, *self.skeleton):
            if len(pair) != 2 or not all(0 <= int(j) < k for j in pair):
                raise ValueError(
                    f"Joint indices must be pairs in [0, {k}). Received: pair={pair} "
                    f"in keypoint set {self.name!r}"
                )
        for a, b in self.flip_pairs:
            if a in seen or b in seen or a == b:
                raise ValueError(
                    f"A joint may appear in one flip pair only. Received: flip_pairs={self.flip_pairs}"
                )
            seen.update((a, b))

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation `p` (int32, (K,)) such that `flipped[..., j] = original[..., p[j]]`."""
        index = np.arange(self.num_keypoints, dtype=np.int32)
        for a, b in self.flip_pairs:
            index[a], index[b] = b, a
        return index

    def index(self, name: str) -> int:
        """Channel index of joint `name`."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(
                f"Unknown joint name for keypoint set {self.name!r}. Received: name={name!r}; "
                f"expected one of {self.names}"
            ) from None

    def has_joints(self, names) -> bool:
        """Whether `names` are this set's joints in its order, up to case, separators
        and the spelling of side words (`left_eye` is `l_eye`, `LeftEye` too)."""

        def canonical(name):
            return tuple(SIDE_ABBREVIATIONS.get(w, w) for w in _words(name))

        return [canonical(n) for n in names] == [canonical(n) for n in self.names]

    @classmethod
    def custom(cls, name, names, flip_pairs=(), skeleton=()):
        """Builds a keypoint set for your own data from joint names and index pairs."""
        return cls(
            name=str(name),
            names=tuple(str(n) for n in names),
            flip_pairs=tuple((int(a), int(b)) for a, b in flip_pairs),
            skeleton=tuple((int(a), int(b)) for a, b in skeleton),
        )

    def get_config(self) -> dict:
        """The set as JSON-ready data: `name`, `names`, `flip_pairs`, `skeleton`
        (lists), what a model's config and an artifact's metadata record."""
        return {
            "name": self.name,
            "names": list(self.names),
            "flip_pairs": [list(pair) for pair in self.flip_pairs],
            "skeleton": [list(edge) for edge in self.skeleton],
        }

    @classmethod
    def from_config(cls, config: dict) -> KeypointSet:
        """The set of `get_config()`'s dict (checked as any new set is)."""
        return cls.custom(**config)


# A joint name's side words (lower case), each with its mirror: `left_paw` <->
# `right_paw`, `l_hip` <-> `r_hip`, `paw-left` <-> `paw-right`, `LeftPaw` <-> `RightPaw`.
SIDE_WORDS = {"left": "right", "right": "left", "l": "r", "r": "l"}
SIDE_ABBREVIATIONS = {"left": "l", "right": "r"}


def _words(name: str) -> list[str]:
    """`name` split into lower-case words at `_`, `-`, `.`, spaces and camelCase humps."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [w for w in re.split(r"[_\-.\s]+", spaced.lower()) if w]


def infer_flip_pairs(names) -> tuple[tuple[int, int], ...]:
    """The left/right pairs of `names`, read from their side words.

    A joint whose words hold one side word (`left`, `right`, `l`, `r`, see
    `SIDE_WORDS`) pairs with the joint whose words are the same but for that
    word's mirror: `left_paw` with `right_paw`, `l_hip` with `r_hip`,
    `tail_left` with `tail_right`, `LeftEar` with `RightEar`. Case and the
    separator (`_`, `-`, `.`, space) do not matter. Joints without a mirror
    (`nose_tip`, or a `left_x` without a `right_x`) are in no pair.

    Args:
        names: sequence of str, the joint names in channel order.

    Returns:
        tuple of (int, int) index pairs, the first-named joint of each first.
    """
    words = [tuple(_words(n)) for n in names]
    index = {w: i for i, w in enumerate(words)}
    pairs, seen = [], set()
    for i, w in enumerate(words):
        sides = [j for j, word in enumerate(w) if word in SIDE_WORDS]
        if len(sides) != 1 or i in seen:
            continue
        j = sides[0]
        mirror = (*w[:j], SIDE_WORDS[w[j]], *w[j + 1 :])
        other = index.get(mirror)
        if other is not None and other != i and other not in seen:
            pairs.append((i, other))
            seen.update((i, other))
    return tuple(pairs)


def parse_flip_pairs(pairs, names) -> tuple[tuple[int, int], ...]:
    """Flip pairs given by joint names (or 0-based indices) as index pairs.

    Args:
        pairs: sequence of (a, b), each a joint name of `names` or an index,
            e.g. `[("left_paw", "right_paw")]` (`--flip-pairs left_paw:right_paw`).
        names: sequence of str, the joint names in channel order.

    Raises:
        ValueError: a name that is not one of `names`, or an index out of range.
    """
    names = [str(n) for n in names]

    def joint(value) -> int:
        if str(value) in names:
            return names.index(str(value))
        text = str(value).strip()
        if text.isdigit() and int(text) < len(names):
            return int(text)
        raise ValueError(
            f"Flip pairs must name joints of the keypoint set. Received: {value!r}; "
            f"expected one of {names} (or an index below {len(names)})"
        )

    return tuple((joint(a), joint(b)) for a, b in pairs)


# fmt: off
MPII = KeypointSet(
    name="mpii",
    names=(
        "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
        "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
        "l_elbow", "l_wrist",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    skeleton=(
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
        (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15),
    ),
)

COCO = KeypointSet(
    name="coco",
    names=(
        "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
        "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
        "r_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    skeleton=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
        (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4),
        (3, 5), (4, 6),
    ),
)

LSP = KeypointSet(
    name="lsp",
    names=(
        "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "r_wrist", "r_elbow",
        "r_shoulder", "l_shoulder", "l_elbow", "l_wrist", "neck", "head_top",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    skeleton=(
        (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (12, 9),
        (9, 10), (10, 11), (12, 13), (2, 8), (3, 9),
    ),
)

# fmt: on

KEYPOINT_SETS = {s.name: s for s in (MPII, COCO, LSP)}


def get_keypoint_set(name_or_set) -> KeypointSet:
    """Returns the keypoint set called `name_or_set` (or the set itself if given one)."""
    if isinstance(name_or_set, KeypointSet):
        return name_or_set
    key = str(name_or_set).lower()
    if key not in KEYPOINT_SETS:
        raise ValueError(
            f"Unknown keypoint set. Received: name={name_or_set!r}; expected one of "
            f"{sorted(KEYPOINT_SETS)} or a KeypointSet"
        )
    return KEYPOINT_SETS[key]
