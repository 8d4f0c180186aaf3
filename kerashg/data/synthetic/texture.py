"""Backgrounds and pixel noise: a bank of textures per seed, cropped per sample.

Each seed has `TEXTURE_COUNT` procedural textures (value noise, stripes and
plaid, clutter, tiles) and a pixel-noise field, made once per process
(`_texture_bank`). A sample's background is a random crop of one or two
textures (`_background`); its finish (`_photometric`) adds a colour cast,
contrast, brightness, blur and a crop of the noise field.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from kerashg.data.synthetic.canvas import _AA, _ONE, _SHIFT, _hsv
from kerashg.data.synthetic.difficulty import RenderConfig

TEXTURE_COUNT = 24  # background textures per seed
TEXTURE_SIZE = 384  # side of a texture in pixels, for 256-pixel images
TEXTURE_REFERENCE_IMAGE_SIZE = 256  # textures are rescaled in proportion for other sizes
TEXTURE_CROP_FRACTION = (0.35, 1.0)
NOISE_SIZE = 512  # side of the per-seed pixel-noise field
NOISE_FIELD_STD = 32.0  # std of that field in grey levels (scaled per sample)


def _value_noise(rng, size: int, channels: int, octaves: int = 5) -> np.ndarray:
    """Fractal value noise in [0, 1], float32 (size, size, channels)."""
    total = np.zeros((size, size, channels), np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        grid = 3 * 2**octave
        coarse = rng.random((grid, grid, channels), dtype=np.float32)
        fine = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        total += amplitude * fine.reshape(size, size, channels)
        norm += amplitude
        amplitude *= rng.uniform(0.4, 0.65)
    total /= norm
    lo, hi = total.min(), total.max()
    return (total - lo) / max(hi - lo, 1e-6)


def _palette_map(rng, field: np.ndarray) -> np.ndarray:
    """Maps a scalar field in [0, 1] (H, W) through 2-4 random colours."""
    stops = np.array([_hsv(rng) for _ in range(rng.integers(2, 5))], np.float32)
    position = field * (len(stops) - 1)
    low = np.clip(position.astype(np.int32), 0, len(stops) - 2)
    frac = (position - low)[..., None]
    return stops[low] * (1 - frac) + stops[low + 1] * frac


def _noise_texture(rng, size):
    noise = _value_noise(rng, size, 2)
    image = _palette_map(rng, noise[..., 0])
    image *= (0.7 + 0.6 * noise[..., 1:2]).astype(np.float32)
    return image


def _stripe_texture(rng, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(6, 60)
    warp = _value_noise(rng, size, 1, octaves=3)[..., 0] * rng.uniform(0, 40)
    phase = (x * math.cos(angle) + y * math.sin(angle) + warp) * (2 * math.pi / period)
    field = 0.5 + 0.5 * np.sin(phase)
    if rng.random() < 0.5:  # plaid
        phase2 = (-x * math.sin(angle) + y * math.cos(angle)) * (2 * math.pi / rng.uniform(6, 60))
        field = 0.5 * field + 0.25 + 0.25 * np.sin(phase2)
    return _palette_map(rng, field)


def _clutter_texture(rng, size):
    image = np.empty((size, size, 3), np.uint8)
    image[:] = _hsv(rng)
    for _ in range(rng.integers(40, 160)):
        colour = _hsv(rng)
        c = (int(rng.uniform(0, size) * _ONE), int(rng.uniform(0, size) * _ONE))
        extent = rng.uniform(3, size / 5)
        kind = rng.integers(4)
        if kind == 0:
            cv2.circle(image, c, int(extent * _ONE), colour, -1, _AA, _SHIFT)
        elif kind == 1:
            cv2.ellipse(
                image, c, (int(extent * _ONE), int(extent * rng.uniform(0.2, 1) * _ONE)),
                rng.uniform(0, 180), 0, 360, colour, -1, _AA, _SHIFT,
            )  # fmt: skip
        elif kind == 2:
            points = rng.uniform(-extent, extent, (rng.integers(3, 7), 2)) + np.array(c) / _ONE
            cv2.fillPoly(image, [(points * _ONE).astype(np.int32)], colour, _AA, _SHIFT)
        else:
            end = (
                c[0] + int(rng.uniform(-2, 2) * extent * _ONE),
                c[1] + int(rng.uniform(-2, 2) * extent * _ONE),
            )
            cv2.line(image, c, end, colour, int(rng.integers(1, 6)), _AA, _SHIFT)
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.5)).astype(np.float32)


def _tile_texture(rng, size):
    image = np.empty((size, size, 3), np.float32)
    base = np.array(_hsv(rng), np.float32)
    tile_w, tile_h = rng.uniform(12, 64), rng.uniform(8, 48)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    row = np.floor(y / tile_h)
    offset = (row % 2) * tile_w * 0.5 * (rng.random() < 0.6)  # bricks or a grid
    col = np.floor((x + offset) / tile_w)
    shade = (np.sin(row * 12.9898 + col * 78.233) * 43758.5453) % 1.0  # per-tile hash
    image[:] = base
    image *= (0.75 + 0.5 * shade)[..., None]
    mortar = (np.abs((x + offset) % tile_w) < 2) | (np.abs(y % tile_h) < 2)
    image[mortar] = np.array(_hsv(rng), np.float32)
    return image


_TEXTURE_MAKERS = (_noise_texture, _stripe_texture, _clutter_texture, _tile_texture)


class _Bank:
    """Background textures and a pixel-noise field of one seed.

    `textures`: uint8 (TEXTURE_SIZE, TEXTURE_SIZE, 3) each; `noise`: uint8
    (NOISE_SIZE, NOISE_SIZE, 3), grey level 128 = no change. `sized(S)` gives
    the textures resized for S-pixel images (made once), so a background crop
    is resized over few pixels.
    """

    def __init__(self, textures: tuple[np.ndarray, ...], noise: np.ndarray):
        self.textures = textures
        self.noise = noise
        self._sized: dict[int, tuple[np.ndarray, ...]] = {}
        self._lock = threading.Lock()

    def sized(self, image_size: int) -> tuple[np.ndarray, ...]:
        with self._lock:
            textures = self._sized.get(image_size)
            if textures is None:
                side = max(8, round(TEXTURE_SIZE * image_size / TEXTURE_REFERENCE_IMAGE_SIZE))
                textures = tuple(
                    cv2.resize(t, (side, side), interpolation=cv2.INTER_AREA) for t in self.textures
                )
                self._sized[image_size] = textures
            return textures


_BANKS: dict[int, _Bank] = {}
MAX_CACHED_BANKS = 8  # about 12 MB each; the oldest seed's bank is dropped first
_BANK_LOCK = threading.Lock()
_BANK_STREAM = 7_919  # keeps the bank's random stream apart from the samples'


def _texture_bank(seed: int) -> _Bank:
    """The `_Bank` of `seed`, made once per process."""
    with _BANK_LOCK:
        bank = _BANKS.get(seed)
        if bank is None:
            rng = np.random.default_rng([seed, _BANK_STREAM])
            textures = []
            for i in range(TEXTURE_COUNT):
                image = _TEXTURE_MAKERS[i % len(_TEXTURE_MAKERS)](rng, TEXTURE_SIZE)
                textures.append(np.clip(image, 0, 255).astype(np.uint8))
            noise = rng.normal(128.0, NOISE_FIELD_STD, (NOISE_SIZE, NOISE_SIZE, 3))
            bank = _Bank(tuple(textures), np.clip(noise, 0, 255).astype(np.uint8))
            while len(_BANKS) >= MAX_CACHED_BANKS:
                del _BANKS[next(iter(_BANKS))]
            _BANKS[seed] = bank
        return bank


_CHANNEL_ORDERS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def _background(rng, bank: _Bank, size: int) -> np.ndarray:
    textures = bank.sized(size)
    full = textures[0].shape[0]

    def crop():
        texture = textures[rng.integers(len(textures))]
        side = int(full * rng.uniform(*TEXTURE_CROP_FRACTION))
        x0, y0 = rng.integers(full - side + 1), rng.integers(full - side + 1)
        patch = cv2.resize(
            texture[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_LINEAR
        )
        if rng.random() < 0.5:
            patch = cv2.flip(patch, rng.integers(3) - 1)
        order = _CHANNEL_ORDERS[rng.integers(len(_CHANNEL_ORDERS))]
        mixed = np.empty_like(patch)
        cv2.mixChannels([patch], [mixed], [order[0], 0, order[1], 1, order[2], 2])
        return mixed

    image = crop()
    if rng.random() < 0.3:
        weight = rng.uniform(0.3, 0.7)
        image = cv2.addWeighted(image, weight, crop(), 1.0 - weight, 0.0)
    return image


def _photometric(rng, image, bank: _Bank, cfg: RenderConfig) -> np.ndarray:
    """Colour cast, contrast, brightness, blur and pixel noise."""
    size = image.shape[0]
    gains = (rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), 0.0)
    image = cv2.multiply(image, gains)
    sigma = rng.uniform(0.0, cfg.max_blur_sigma)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    contrast = rng.uniform(0.8, 1.2)
    brightness = rng.uniform(-20, 20)
    noise_gain = rng.uniform(0.0, cfg.max_noise_std) / NOISE_FIELD_STD
    side = min(size, NOISE_SIZE)
    x0, y0 = rng.integers(NOISE_SIZE - side + 1), rng.integers(NOISE_SIZE - side + 1)
    noise = bank.noise[y0 : y0 + side, x0 : x0 + side]
    if side < size:
        noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_NEAREST)
    # contrast * image + gain * (noise - 128) + brightness, saturated to uint8.
    return cv2.addWeighted(image, contrast, noise, noise_gain, brightness - 128.0 * noise_gain)
