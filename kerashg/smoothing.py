"""The One Euro filter: speed-adaptive low-pass smoothing of noisy signals.

Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter for
Noisy Input in Interactive Systems", CHI 2012. A first-order low-pass filter
whose cutoff frequency rises with the signal's speed: at rest a low cutoff
removes jitter, in motion a high cutoff removes lag.

With `Te` the sampling period (`1 / freq`), for every new sample `x`:

    alpha(fc) = 1 / (1 + tau / Te),   tau = 1 / (2π fc)
    dx   = (x - x̂_prev) / Te                      (0 for the first sample)
    edx  = alpha(d_cutoff) · dx + (1 - alpha(d_cutoff)) · edx_prev
    fc   = min_cutoff + beta · |edx|
    x̂    = alpha(fc) · x + (1 - alpha(fc)) · x̂_prev   (x̂ = x for the first sample)

`x̂_prev` is the previous *filtered* value, as in the paper's pseudocode (its
`xfilt.hatxprev()`). `OneEuroFilter` applies this element-wise to arrays of any
shape: one independent filter per element (e.g. per joint coordinate of a
`(K, 2)` keypoint array), in NumPy.

Units: `min_cutoff` and `d_cutoff` are in Hz; `beta` is in 1 / (signal unit),
the cutoff added per unit of speed (e.g. Hz per pixel / s for pixel keypoints).
"""

from __future__ import annotations

import math

import numpy as np


def smoothing_factor(cutoff, period):
    """alpha = 1 / (1 + tau / Te) with tau = 1 / (2π cutoff), element-wise."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / period)


class OneEuroFilter:
    """Element-wise One Euro filter over arrays of a fixed shape.

    Args:
        freq: sampling frequency in Hz (e.g. a video's fps); used between
            samples that come without timestamps.
        min_cutoff: minimum cutoff frequency in Hz (lower: less jitter at rest).
        beta: speed coefficient (higher: less lag in fast motion).
        d_cutoff: cutoff frequency in Hz of the derivative's low-pass filter.

    Example:

    >>> smooth = OneEuroFilter(freq=30.0, min_cutoff=1.0, beta=0.007)
    >>> for keypoints in frames:  # (K, 2) arrays
    ...     smoothed = smooth(keypoints)

    Calling it with `t` (seconds, strictly increasing) uses the elapsed time as
    the sampling period instead of `1 / freq`, as the paper's reference code does.
    """

    def __init__(
        self, freq: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0
    ):
        for name, value, positive in (
            ("freq", freq, True),
            ("min_cutoff", min_cutoff, True),
            ("beta", beta, False),
            ("d_cutoff", d_cutoff, True),
        ):
            value = float(value)
            if not math.isfinite(value) or value < 0 or (positive and value == 0):
                bound = "> 0" if positive else ">= 0"
                raise ValueError(
                    f"{name} must be a finite number {bound}. Received: {name}={value}"
                )
        self.freq = float(freq)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forgets the past: the next sample passes through unchanged."""
        self._x = None  # previous filtered value x̂
        self._dx = None  # previous filtered derivative
        self._t = None  # previous timestamp, if any

    def __call__(self, x, t: float | None = None) -> np.ndarray:
        """Filters one sample.

        Args:
            x: array (any shape, the same for every call) or number.
            t: timestamp in seconds; None advances by `1 / freq`.

        Returns:
            float64 array of `x`'s shape, the filtered sample.
        """
        x = np.array(x, dtype=np.float64)
        period = 1.0 / self.freq
        if t is not None:
            t = float(t)
            if self._t is not None:
                if not t > self._t:
                    raise ValueError(f"timestamps must increase. Received: t={t} after t={self._t}")
                period = t - self._t
            self._t = t
        if self._x is None:
            self._x = x
            self._dx = np.zeros_like(x)
            return x.copy()
        if x.shape != self._x.shape:
            raise ValueError(
                f"every sample must have the shape of the first, {self._x.shape}. "
                f"Received: shape={x.shape}"
            )
        dx = (x - self._x) / period
        alpha_d = smoothing_factor(self.d_cutoff, period)
        self._dx = alpha_d * dx + (1.0 - alpha_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        alpha = smoothing_factor(cutoff, period)
        self._x = alpha * x + (1.0 - alpha) * self._x
        return self._x.copy()
