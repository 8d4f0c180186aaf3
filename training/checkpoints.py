"""Resuming: the newest checkpoint of a run's folder that restores."""

from __future__ import annotations

import pathlib

import tensorflow as tf


def restore_newest(
    checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager
) -> tuple[str, list[str]] | None:
    """Restores into `checkpoint` the newest checkpoint of `manager`'s folder that restores.

    The candidates are the `ckpt-N.index` files on disk, newest (highest N)
    first, not only the one the `checkpoint` index file names: a damaged index
    file or a damaged newest checkpoint (truncated data, unreadable index)
    falls back to the next older one. Nothing is deleted.

    Returns:
        `(path, notes)`: the checkpoint restored and what a user should know
        (checkpoints skipped and why, a missing or stale index file); None when
        the folder holds no checkpoint.

    Raises:
        ValueError: checkpoint files are there but none restores (one line
            naming each and why).
    """
    directory = pathlib.Path(manager.directory)
    candidates = {}
    for index_file in directory.glob("ckpt-*.index"):
        number = index_file.name[len("ckpt-") : -len(".index")]
        if number.isdigit():
            candidates[int(number)] = str(directory / f"ckpt-{number}")
    if not candidates:
        # An index file or checkpoint data without any ckpt-N.index: a checkpoint
        # was there (an unfinished first save leaves only a `_temp` folder).
        present = sorted(
            p.name for p in [*directory.glob("checkpoint"), *directory.glob("ckpt-*.data-*")]
        )
        if present:
            raise ValueError(
                f"{directory}: --resume: no checkpoint to restore (no ckpt-N.index file); "
                f"found {present[:6]}. Nothing was deleted; start a new run in another "
                "--out folder or restore the files"
            )
        return None
    skipped = []
    for number in sorted(candidates, reverse=True):
        path = candidates[number]
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        # What TensorFlow raises for a damaged file (a truncated shard:
        # IndexError "Read less bytes than requested"; a bad index: DataLossError)
        # or one of another model (AssertionError).
        except (
            tf.errors.OpError,
            ValueError,
            AssertionError,
            IndexError,
            KeyError,
            OSError,
            RuntimeError,
        ) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            skipped.append(f"ckpt-{number} ({type(error).__name__}: {reason[:160]})")
            continue
        break
    else:
        raise ValueError(
            f"{directory}: --resume: no checkpoint restores: {'; '.join(skipped)}. "
            "Nothing was deleted; start a new run in another --out folder or restore "
            "the files"
        )
    notes = []
    if skipped:
        notes.append(f"skipped damaged {', '.join(skipped)}")
    index = manager.latest_checkpoint
    if index is None:
        notes.append(f"the index file {directory / 'checkpoint'} is missing or unreadable")
    elif pathlib.Path(index).name not in [pathlib.Path(path).name] + [
        s.split(" ")[0] for s in skipped
    ]:
        notes.append(f"the index file named {pathlib.Path(index).name}")
    return path, notes
