"""Reading image files whole or not at all (NumPy and OpenCV; no TensorFlow).

`cv2.imread` half-decodes a truncated JPEG without a word; `read_image_file`
refuses damaged files instead, for training, prediction and export calibration
alike. `IMAGE_SUFFIXES` is the one list of the file names taken for images
(`kerashg.predict`'s inputs, export calibration folders). OpenCV is imported on
the first read, so that the list costs nothing to import.
"""

from __future__ import annotations

import os

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

    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except OSError as error:
        raise ImageError(f"cannot be read ({error.strerror})") from None
    if not data:
        raise ImageError("empty file")
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
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise ImageError("not a decodable image")
    if reduction > 1 and flags == cv2.IMREAD_COLOR:
        image = reduce_image(image, reduction)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


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
