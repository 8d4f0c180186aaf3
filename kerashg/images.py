"""Reading image files whole or not at all (NumPy and OpenCV; no TensorFlow).

`cv2.imread` half-decodes a truncated JPEG without a word; `read_image_file`
refuses damaged files instead, for training, prediction and export calibration
alike. `IMAGE_SUFFIXES` is the one list of the file names taken for images
(`kerashg.predict`'s inputs, export calibration folders). OpenCV is imported on
the first read, so that the list costs nothing to import.

Every command reads images through this module, so one file has one answer
everywhere:

- `image_file_problem(path)` looks a file up without opening it: a FIFO, a
  device or a folder named `x.jpg` is "not a regular file" (opening a FIFO
  waits forever for a writer), a symlink loop is named as such.
- `read_image_file` reads only regular files, and reads the width and height
  from the file's header before decoding: a header claiming more than
  `MAX_IMAGE_PIXELS` is refused before OpenCV allocates anything.
- `list_image_files(folder)` is the one folder lister (`kerashg.predict`,
  export calibration): image-named regular files, sorted; the others are
  skipped with one counted warning.
"""

from __future__ import annotations

import errno
import logging
import os
import pathlib
import stat
import struct

import numpy as np

from kerashg.errors import InputError

#: File suffixes (lower case) read as images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# JPEG DCT reductions OpenCV can decode at, with the names of their imread flags.
_REDUCED_FLAGS = {
    1: "IMREAD_COLOR",
    2: "IMREAD_REDUCED_COLOR_2",
    4: "IMREAD_REDUCED_COLOR_4",
    8: "IMREAD_REDUCED_COLOR_8",
}
# How far from the end of the file a JPEG's end-of-image marker (or a PNG's IEND
# chunk) may lie; camera files can carry padding after it.
_END_MARKER_WINDOW = 4096
#: Largest image (width × height) read: 2^28 pixels, 16384 × 16384 (768 MiB
#: decoded). OpenCV's own limit (2^30) fails inside `imdecode` with a cv2.error,
#: after a header claiming 65535 × 65535 was believed.
MAX_IMAGE_PIXELS = 1 << 28

logger = logging.getLogger(__name__)


class ImageError(InputError):
    """An image file that cannot be used (missing, empty, truncated, not an image)."""


def read_image_file(path: str | os.PathLike, reduction: int = 1) -> np.ndarray:
    """Reads an image file as RGB uint8 (H, W, 3), refusing damaged files.

    Args:
        path: image file (JPEG, PNG, or anything OpenCV reads).
        reduction: 1, 2, 4 or 8: return the image at that fraction of its size
            (pixel i of the result covers original pixels [i·r, (i+1)·r)); a
            JPEG is decoded at that size directly (DCT scaling), other formats
            are block-averaged after decoding.

    Raises:
        ImageError: naming what is wrong. EXIF orientation is ignored, as
        annotation tools and TensorFlow's decoder do.
    """
    import cv2

    data = _read_bytes(path)
    size = header_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"its header claims {size[0]}x{size[1]} pixels; at most {MAX_IMAGE_PIXELS} "
            "pixels are read"
        )
    tail = data[-_END_MARKER_WINDOW:]
    if data[:2] == b"\xff\xd8":
        if b"\xff\xd9" not in tail:
            raise ImageError("truncated JPEG (no end-of-image marker)")
        flags = getattr(cv2, _REDUCED_FLAGS[reduction])
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in tail:
            raise ImageError("truncated PNG (no IEND chunk)")
        flags = cv2.IMREAD_COLOR
    else:
        flags = cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error as error:  # a header this module does not parse (TIFF, WebP) too large
        reason = (str(error).strip().splitlines() or ["cv2.error"])[-1][:160]
        raise ImageError(f"not a decodable image ({reason})") from None
    if image is None:
        raise ImageError("not a decodable image")
    if reduction > 1 and flags == cv2.IMREAD_COLOR:
        image = reduce_image(image, reduction)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read_bytes(path) -> bytes:
    """The bytes of a regular, non-empty file (a FIFO is refused, never waited on)."""
    problem = image_file_problem(path)
    if problem is not None:
        raise ImageError(problem)
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the check still cannot block.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ImageError("not a regular file")
            data = f.read()
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except OSError as error:
        raise ImageError(f"cannot be read ({error.strerror})") from None
    if not data:
        raise ImageError("empty file")
    return data


def reduce_image(image: np.ndarray, reduction: int) -> np.ndarray:
    """Averages `reduction` × `reduction` pixel blocks, as JPEG DCT scaling does.

    Pixel i of the result covers source pixels [i·r, (i+1)·r); a partial block
    at the right or bottom edge is dropped.
    """
    import cv2

    h, w = image.shape[:2]
    hr, wr = max(1, h // reduction), max(1, w // reduction)
    block = image[: hr * reduction, : wr * reduction]
    return cv2.resize(block, (wr, hr), interpolation=cv2.INTER_AREA)


def image_file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be an image file, found without opening it; None if it may be one.

    Returns:
        "file not found", "symlink loop", "not a regular file (a FIFO)" (or a
        device, socket, folder), "empty file", "cannot be read (...)", or None.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "broken symlink" if os.path.islink(path) else "file not found"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symlink loop"
        return f"cannot be read ({error.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return f"not a regular file ({_file_kind(info.st_mode)})"
    if info.st_size == 0:
        return "empty file"
    return None


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def list_image_files(folder: str | os.PathLike) -> tuple[list[pathlib.Path], dict[str, str]]:
    """The image files of `folder` (by `IMAGE_SUFFIXES`), sorted, and those skipped.

    Only regular files (or links to them) are listed: FIFOs, devices, folders,
    broken links and symlink loops named like images are skipped, never opened,
    and counted in one warning. Whether a listed file decodes is for
    `read_image_file` to say.

    Returns:
        `(files, skipped)`: the paths to read, and path → reason for the others.
    """
    folder = pathlib.Path(folder)
    files, skipped = [], {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        problem = image_file_problem(path)
        if problem is None or problem == "empty file":  # an empty file: read_image_file says
            files.append(path)
        else:
            skipped[str(path)] = problem
    if skipped:
        first = next(iter(skipped))
        logger.warning(
            "%d of %d image files in %s skipped (special files, broken links or symlink loops; "
            "first: %s: %s)",
            len(skipped), len(files) + len(skipped), folder, first, skipped[first],
        )  # fmt: skip
    return files, skipped


# Bytes `image_size` reads, first and at most: a JPEG's frame header can follow an
# EXIF block of up to 64 KiB (and its thumbnail).
_HEADER_READS = (4096, 1 << 18)


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of an image file from its header, without decoding it.

    Reads at most 256 KiB of a regular file (a FIFO is never waited on).

    Returns:
        The size, or None: not a readable regular file, a format `header_size`
        does not parse (TIFF, WebP), or no frame header in the bytes read.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            data = b""
            for limit in _HEADER_READS:
                data += f.read(limit - len(data))
                size = header_size(data)
                if size is not None:
                    return size
    except OSError:
        return None
    return None


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, BMP or GIF header; None for other formats.

    Reads only the header, so that an image claiming billions of pixels is
    refused before anything is decoded.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


# JPEG start-of-frame markers (baseline, progressive, lossless, ...; not DHT, JPG, DAC).
_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _SOF_MARKERS and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None
