"""Writing outputs: atomic writes, and what `kerashg.predict` writes (output names, the
no-overwrite check, COCO results, videos).

`atomic_output` / `atomic_write_text` are the one way the project writes a file or
folder that must never be seen half-written (exports, `model.keras`, `metrics.json`,
`config.json` of a training run).

This module imports NumPy and the standard library (OpenCV inside the video
functions) only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import shutil
import tempfile
import time

import numpy as np

from kerashg.errors import InputError

# The COCO keypoint results file `--format coco` writes in `--out`.
COCO_RESULTS = "coco_results.json"
# OpenCV FourCC codes per video container, tried in order; `video_container`
# falls back to `.mp4` where OpenCV has none of them for a container.
VIDEO_CODECS = {
    ".mp4": ("mp4v",),
    ".m4v": ("mp4v",),
    ".mov": ("mp4v",),
    ".avi": ("MJPG", "XVID"),
    ".mkv": ("XVID", "MJPG", "mp4v"),
    ".webm": ("VP80", "VP90"),
}


# The file `claimed_folder` locks inside the folder it holds.
LOCK_FILE = ".kerashg.lock"
# A temporary output folder that records no writer is stale after this long.
STALE_TEMPORARY_SECONDS = 3600


class OutputExistsError(InputError, FileExistsError):
    """An output would replace a file it must not (one the run did not write, or an
    existing artifact without `force`)."""


def check_writable(out: str | os.PathLike, force: bool) -> None:
    """Raises `OutputExistsError` (a FileExistsError) if `out` exists and `force` is False."""
    out = pathlib.Path(out)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} already exists; pass force=True (--force) to overwrite it")


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike, *, force: bool = False, directory: bool = False):
    """Yields a temporary path in `out`'s folder; renames it to `out` on success.

    On an exception inside the block the temporary file or folder is deleted and
    `out` is left as it was, so a failed or rejected write never leaves a
    half-written or wrong file under the final name. A file replaces an existing
    file in one `os.replace` (readers see the old or the new one, never none).

    Args:
        out: final path. Its folder is created if missing.
        force: replace an existing `out` (an existing folder is moved aside, then
            deleted once the new one is in place).
        directory: the output is a folder (the yielded path does not exist yet
            and the block creates it) rather than a file.

    Raises:
        OutputExistsError: `out` exists and `force` is False.
        RuntimeError: the block wrote nothing at the yielded path.
    """
    out = pathlib.Path(out)
    check_writable(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    # The writer's pid in the name: a later write can tell a killed writer's
    # leftovers from a live one's.
    tmp_root = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent)
    )
    tmp = tmp_root / out.name
    try:
        yield tmp
        if not (tmp.is_dir() if directory else tmp.is_file()):
            raise RuntimeError(f"nothing was written at {tmp}")
        if out.exists() or out.is_symlink():
            check_writable(out, force)
            if out.is_dir() and not out.is_symlink():  # os.replace cannot replace a folder
                os.replace(out, tmp_root / (out.name + ".old"))
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temporaries(out: str | os.PathLike) -> int:
    """Deletes the temporary folders `atomic_output` left beside `out` when killed.

    Only `.{name}.tmp-{pid}-*` folders whose writer (pid) is no longer running,
    and those of writers that recorded no pid (older versions) once over an hour
    old; a live writer's folder is kept. Returns how many were deleted.
    """
    out = pathlib.Path(out)
    removed = 0
    for path in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
        head = path.name[len(out.name) + 6 :].split("-", 1)[0]
        if head.isdigit() and "-" in path.name[len(out.name) + 6 :]:
            stale = not _process_alive(int(head))
        else:
            stale = time.time() - path.lstat().st_mtime > STALE_TEMPORARY_SECONDS
        if stale and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


@contextlib.contextmanager
def claimed_folder(folder: str | os.PathLike, option: str = "--out"):
    """Holds `folder` for this process alone while the block runs (an advisory lock).

    Creates `folder` and locks its `LOCK_FILE` with `fcntl.flock`: a second
    command given the same folder is refused at once instead of writing over
    the first one's files. The lock goes with the process (a killed command
    leaves the file, not the lock), so nothing needs cleaning up.

    Raises:
        InputError: another process holds the folder (its pid is named).
    """
    import fcntl

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 32).decode("ascii", "replace").strip() or "?"
        os.close(descriptor)
        raise InputError(
            f"{option}: another command (pid {holder}) is writing in this folder; expected "
            f"a folder no other command uses (the lock is {lock.name})",
            path=folder,
        ) from None
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield folder
    finally:
        os.close(descriptor)  # releases the lock


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename (replacing any)."""
    with atomic_output(path, force=True) as tmp:
        tmp.write_text(text)


def output_name(name: str, tag: str, suffix: str) -> str:
    """The output file name of an input: `output_name("a.jpg", "pose", ".jpg")` →
    `"a_jpg_pose.jpg"` (the whole input name, its extension's dot as `_`)."""
    path = pathlib.PurePath(name)
    base = path.stem + (f"_{path.suffix[1:]}" if path.suffix else "")
    return f"{base}_{tag}{suffix}"


def planned_outputs(
    out: pathlib.Path,
    inputs,
    video_suffix: str | None = None,
    masks: bool = False,
    coco: bool = False,
) -> list[pathlib.Path]:
    """Every file a run writes in `out`.

    Args:
        out: the output folder.
        inputs: the input images, or the one video.
        video_suffix: None for images; for a video the annotated copy's suffix
            (`video_container`).
        masks: the ACNN mask panels of images are written too.
        coco: the COCO results file (`COCO_RESULTS`) is written too.
    """
    planned = [out / "keypoints.json"]
    if coco:
        planned.append(out / COCO_RESULTS)
    for path in inputs:
        if video_suffix is not None:
            planned.append(out / output_name(path.name, "pose", video_suffix))
            continue
        planned.append(out / output_name(path.name, "pose", ".jpg"))
        if masks:
            planned.append(out / output_name(path.name, "masks", ".jpg"))
    return planned


def check_outputs(planned, protected, force: bool = False) -> None:
    """Refuses a run whose outputs would replace files it did not write.

    Args:
        planned: the paths the run will write.
        protected: paths of the run's inputs (images, video, `--boxes`, model),
            never written over, with `force` or not.
        force: bool, replace outputs that already exist (`--force`).

    Raises:
        OutputExistsError: naming the first such file, before any work.
    """
    protected = {pathlib.Path(p).resolve() for p in protected}
    seen = set()
    for path in planned:
        resolved = path.resolve()
        if resolved in protected:
            raise OutputExistsError(
                f"{path}: --out: this output would replace an input of the run; expected an "
                "--out folder whose output names are not the inputs' (--force does not "
                "change this)"
            )
        if resolved in seen:
            raise OutputExistsError(f"{path}: --out: two inputs of the run would write it")
        seen.add(resolved)
    if force:
        return
    existing = [path for path in planned if path.exists()]
    if existing:
        raise OutputExistsError(
            f"{existing[0]}: --out: already exists ({len(existing)} of the run's "
            f"{len(planned)} output files do: an earlier run's or your own); expected a new "
            "or empty --out folder, or --force to replace them"
        )


def _writable_folder(path: pathlib.Path, option: str) -> None:
    """Refuses `path` whose nearest existing folder cannot be written in (or is a file)."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        if parent.is_symlink():  # a dangling link: mkdir would fail on it
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{option}: {parent} is a file; expected a folder", path=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"{option}: cannot write in {parent} (read-only or no permission)", path=path
        )


def check_output_file(
    path: str | os.PathLike,
    force: bool = False,
    option: str = "--out",
    suffixes: tuple[str, ...] | None = None,
) -> pathlib.Path:
    """Refuses an output file path that cannot be written, before any work.

    The one check of every command that writes one file (`kerashg.evaluate
    --out`, `training.visualize --out`, `python -m kerashg.data.synthetic
    --format preview --out`).

    Args:
        path: the file to write.
        force: replace an existing file (`--force`); without it an existing file
            is refused.
        option: the option's name, for the message.
        suffixes: accepted suffixes (lower case), or None for any.

    Raises:
        InputError: a folder where a file is wanted, a wrong suffix, a folder
            that cannot be written in. `OutputExistsError` for an existing file
            without `force`.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise InputError(f"{option}: is a folder; expected a file name", path=path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(
            f"{option}: expected a file name ending in {' or '.join(suffixes)}", path=path
        )
    if (path.exists() or path.is_symlink()) and not force:
        raise OutputExistsError(
            f"{option}: already exists; expected a new file name, or --force to replace it",
            path=path,
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option}: the file is read-only", path=path)
    _writable_folder(path, option)
    return path


def check_output_folder(path: str | os.PathLike, option: str = "--out") -> pathlib.Path:
    """Refuses an output folder path that is a file or cannot be written in, before any work.

    Raises:
        InputError: `path` is a file, or neither it nor its nearest existing
            parent folder can be written in.
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option}: is a file; expected a folder", path=path)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(
                f"{option}: cannot write in it (read-only or no permission)", path=path
            )
        return path
    _writable_folder(path, option)
    return path


def rounded(values) -> list:
    """Floats rounded to 3 decimals, as a JSON list."""
    return [round(float(v), 3) for v in values]


def _writer_opens(path: pathlib.Path, fourcc: str) -> bool:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (32, 32))
    try:
        if not writer.isOpened():
            return False
        writer.write(np.zeros((32, 32, 3), np.uint8))
    finally:
        writer.release()
    return path.is_file() and path.stat().st_size > 0


def video_container(suffix: str) -> tuple[str, str, str | None]:
    """The container and codec of an input video's annotated copy.

    Keeps the input's container (`.avi` stays `.avi`) where this OpenCV build
    writes it, trying the codecs of `VIDEO_CODECS` on a small test file.

    Args:
        suffix: the input video's suffix, e.g. ".avi".

    Returns:
        (suffix, FourCC, note): note is None, or a sentence saying the
        container could not be kept and `.mp4` is written instead.
    """
    suffix = suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        for fourcc in VIDEO_CODECS.get(suffix, ()):
            if _writer_opens(pathlib.Path(folder) / f"probe{suffix}", fourcc):
                return suffix, fourcc, None
    return (
        ".mp4",
        "mp4v",
        f"this OpenCV build cannot write {suffix} video; the annotated copy is .mp4",
    )


def coco_results(results) -> list[dict]:
    """COCO keypoint results (what `loadRes` and `kerashg.evaluate` read) of a run.

    Args:
        results: the `results` of `keypoints.json`: one per image, with its
            `image_id` (None: an error if the image has people) and `people`
            with `keypoints` K × [x, y, score] and `box_score`.

    Returns:
        list of `{"image_id", "category_id": 1, "keypoints": [x, y, score] * K,
        "score"}`: the person score is the mean joint score, times the
        detector's box score where there is one (as MMPose and HRNet rank people).
    """
    entries = []
    for result in results:
        image_id = result.get("image_id")
        for person in result["people"]:
            if image_id is None:
                raise InputError(
                    "--format coco needs a COCO image id: none in the file name (e.g. "
                    "000000000139.jpg → 139) nor in a --boxes entry",
                    path=result["image"],
                )
            keypoints = np.asarray(person["keypoints"], np.float64)
            score = person.get("score")
            if score is None:
                score = float(keypoints[:, 2].mean()) * (person.get("box_score") or 1.0)
            entries.append(
                {
                    "image_id": int(image_id),
                    "category_id": 1,
                    "keypoints": [round(float(v), 3) for v in keypoints.reshape(-1)],
                    "score": round(float(score), 5),
                }
            )
    return entries


def mask_panels(people) -> np.ndarray | None:
    """Each person's stage masks over their crop, letterbox cut, one row per person."""
    import cv2

    from kerashg import draw

    rows = [
        draw.overlay_masks(
            cv2.cvtColor(p["crop"], cv2.COLOR_RGB2BGR), p["masks"], region=p["region"]
        )
        for p in people
        if "masks" in p
    ]
    return draw.stack_rows(rows) if rows else None


def masks_on_video_frame(bgr, people, input_size) -> np.ndarray:
    """The mask of the last stage that enters a prediction (P_i uses M_{i-1}) on the frame."""
    from kerashg import draw

    with_masks = [p for p in people if "masks" in p]
    if not with_masks:
        return bgr
    stage = -2 if len(with_masks[0]["masks"]) > 1 else -1
    return draw.masks_on_frame(
        bgr,
        [p["masks"][stage] for p in with_masks],
        [p["inverse"] for p in with_masks],
        input_size,
    )
