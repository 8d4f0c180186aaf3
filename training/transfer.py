"""`--init-from`: start a model from another trained model's weights.

Weights are matched by variable path (`stack0_head/heatmap_conv/kernel`, ...),
which names the stage and the kind of layer, so a stacked hourglass can start
an ACNN of the same size (its attention layers keep their fresh initialisation)
and the reverse. The two per-keypoint tensors of every stage, the heatmap
convolution's output channels (`stack{i}_head/heatmap_conv`) and the merge's
heatmap input channels (`stack{i}_merge/heatmaps_conv`), are mapped joint by
joint through the keypoint names, so a model trained on one keypoint set
starts one on another (e.g. the synthetic MPII-16 figures → LSP-14): shared
joints copy their channel, LSP's `neck` takes MPII's `upper_neck`, and joints
the source lacks keep their fresh initialisation. Every other variable must
have the same shape in both models, or the run stops with the first mismatch
named (a different `--filters`, `--depth` or `--stacks` cannot be transferred).
The optimizer is not transferred: the run starts it fresh.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from kerashg.errors import InputError
from kerashg.keypoints import KeypointSet

# Joints that carry other names in other keypoint sets (target name → source names).
JOINT_ALIASES = {
    "neck": ("upper_neck",),
    "upper_neck": ("neck",),
}
# Variables whose last axis (heatmap convolution) or input-channel axis (merge)
# runs over the keypoints.
_KEYPOINT_OUTPUT = "/heatmap_conv/"
_KEYPOINT_INPUT = "/heatmaps_conv/kernel"


@dataclasses.dataclass
class TransferReport:
    """What `init_from` copied: variable counts and the joint mapping."""

    copied: int
    mapped: int
    kept: list[str]
    joints: dict[str, str | None]

    def summary(self) -> str:
        shared = sum(v is not None for v in self.joints.values())
        fresh = [k for k, v in self.joints.items() if v is None]
        text = (
            f"{self.copied} variables copied, {self.mapped} mapped joint by joint "
            f"({shared}/{len(self.joints)} joints shared"
        )
        text += f"; fresh: {', '.join(fresh)})" if fresh else ")"
        if self.kept:
            text += f", {len(self.kept)} kept fresh (not in the source, e.g. {self.kept[0]})"
        return text


def joint_mapping(source: KeypointSet, target: KeypointSet) -> dict[str, str | None]:
    """Target joint name → the source joint it starts from (None: no such joint)."""
    mapping = {}
    for name in target.names:
        candidates = (name, *JOINT_ALIASES.get(name, ()))
        mapping[name] = next((c for c in candidates if c in source.names), None)
    return mapping


def init_from(
    model,
    path: str | os.PathLike,
    target: KeypointSet,
    source: KeypointSet | None = None,
) -> TransferReport:
    """Sets `model`'s weights from the `.keras` model at `path`.

    Args:
        model: the freshly built model to start (ACNN or StackedHourglass).
        path: a `.keras` file saved by `training.train` (or any kerashg model).
        target: the keypoint set `model` predicts.
        source: the keypoint set of the saved model. Default: guessed from its
            number of keypoints (16 MPII, 17 COCO, 14 LSP).

    Returns:
        A `TransferReport`.

    Raises:
        FileNotFoundError: `path` does not exist.
        InputError: the file cannot be loaded, its keypoints cannot be named, or
            a shared variable has another shape (another size of network).
    """
    import keras

    from kerashg.model_file import load_keras_model
    from kerashg.runtime import guess_keypoint_set

    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"--init-from {path}: no such file")
    saved = load_keras_model(path)  # one error line naming the file for a bad one
    num_keypoints = getattr(saved, "num_keypoints", None)
    if source is None:
        source = guess_keypoint_set(num_keypoints) if num_keypoints else None
        if source is None:
            raise InputError(
                f"--init-from {path}: cannot tell the keypoint set of a model with "
                f"num_keypoints={num_keypoints}"
            )
    joints = joint_mapping(source, target)
    source_index = np.array(
        [source.index(joints[n]) if joints[n] else -1 for n in target.names], dtype=np.int64
    )
    weights = {v.path: v for v in saved.weights}
    copied, mapped, kept = 0, 0, []
    for variable in model.weights:
        other = weights.get(variable.path)
        if other is None:
            kept.append(variable.path)
            continue
        value = np.asarray(keras.ops.convert_to_numpy(other))
        if _KEYPOINT_OUTPUT in variable.path:
            variable.assign(_map_channels(np.asarray(variable.numpy()), value, source_index, -1))
            mapped += 1
        elif variable.path.endswith(_KEYPOINT_INPUT):
            variable.assign(_map_channels(np.asarray(variable.numpy()), value, source_index, -2))
            mapped += 1
        elif tuple(value.shape) != tuple(variable.shape):
            raise InputError(
                f"--init-from {path}: {variable.path} has shape {tuple(value.shape)} there and "
                f"{tuple(variable.shape)} here; start from a model of the same --stacks, "
                "--filters, --depth and --stem-filters"
            )
        else:
            variable.assign(value)
            copied += 1
    return TransferReport(copied=copied, mapped=mapped, kept=kept, joints=joints)


def _map_channels(fresh: np.ndarray, saved: np.ndarray, index: np.ndarray, axis: int):
    """`fresh` with its keypoint channels (along `axis`) taken from `saved[index]`."""
    fresh = np.moveaxis(fresh.copy(), axis, -1)
    saved = np.moveaxis(saved, axis, -1)
    if fresh.shape[:-1] != saved.shape[:-1]:
        raise ValueError(
            f"keypoint tensors differ beyond their keypoint axis: {saved.shape} vs {fresh.shape}"
        )
    have = index >= 0
    fresh[..., have] = saved[..., index[have]]
    return np.moveaxis(fresh, -1, axis)
