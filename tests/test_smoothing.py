"""kerashg.smoothing: the One Euro filter (Casiez, Roussel, Vogel, CHI 2012)."""

import math

import numpy as np
import pytest

from kerashg.pose_tracker import DEFAULT_SMOOTH_BETA
from kerashg.smoothing import OneEuroFilter

FPS = 30.0


class _PaperLowPassFilter:
    """The paper's LowPassFilter pseudocode, transcribed for one scalar."""

    def __init__(self):
        self.first_time = True
        self.hatxprev = None

    def filter(self, x, alpha):
        if self.first_time:
            self.first_time = False
            self.hatxprev = x
        hatx = alpha * x + (1 - alpha) * self.hatxprev
        self.hatxprev = hatx
        return hatx


class _PaperOneEuroFilter:
    """The paper's OneEuroFilter pseudocode, transcribed for one scalar."""

    def __init__(self, rate, mincutoff, beta, dcutoff):
        self.rate, self.mincutoff, self.beta, self.dcutoff = rate, mincutoff, beta, dcutoff
        self.first_time = True
        self.xfilt = _PaperLowPassFilter()
        self.dxfilt = _PaperLowPassFilter()

    @staticmethod
    def alpha(rate, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        te = 1.0 / rate
        return 1.0 / (1.0 + tau / te)

    def filter(self, x):
        if self.first_time:
            self.first_time = False
            dx = 0.0
        else:
            dx = (x - self.xfilt.hatxprev) * self.rate
        edx = self.dxfilt.filter(dx, self.alpha(self.rate, self.dcutoff))
        cutoff = self.mincutoff + self.beta * abs(edx)
        return self.xfilt.filter(x, self.alpha(self.rate, cutoff))


def _run(filter_, samples):
    return np.array([filter_(sample) for sample in samples])


def test_matches_the_papers_pseudocode_on_a_random_signal():
    rng = np.random.default_rng(1)
    signal = np.cumsum(rng.normal(0.0, 4.0, (120, 3, 2)), axis=0)
    smooth = OneEuroFilter(FPS, min_cutoff=0.8, beta=0.02, d_cutoff=1.5)
    ours = _run(smooth, signal)
    reference = np.empty_like(signal)
    for index in np.ndindex(signal.shape[1:]):
        scalar = _PaperOneEuroFilter(FPS, 0.8, 0.02, 1.5)
        reference[(slice(None), *index)] = [
            scalar.filter(float(v)) for v in signal[(slice(None), *index)]
        ]
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)
    assert ours.shape == signal.shape


def test_lowers_jitter_of_a_still_joint():
    # 17 joints at rest with 3 px Gaussian jitter, 10 s at 30 fps.
    rng = np.random.default_rng(0)
    noisy = np.array([120.0, 80.0]) + rng.normal(0.0, 3.0, (300, 17, 2))
    smoothed = _run(OneEuroFilter(FPS, 1.0, DEFAULT_SMOOTH_BETA, 1.0), noisy)
    ratio = smoothed[30:].std(axis=0).mean() / noisy[30:].std(axis=0).mean()
    assert ratio < 0.4  # measured 0.334 with beta 0.007 (0.296 with beta 0)
    # The mean position is kept (largest per-joint offset measured 0.40 px).
    assert np.abs(smoothed[30:].mean(axis=0) - [120.0, 80.0]).max() < 1.0


def test_follows_a_step_within_a_bounded_lag():
    signal = np.concatenate([np.zeros(10), np.full(50, 100.0)])

    def lag(beta):
        smoothed = _run(OneEuroFilter(FPS, 1.0, beta, 1.0), signal)
        # Frames after the step until the output stays within 1 px of 100.
        off = np.abs(smoothed[10:] - 100.0) >= 1.0
        return int(np.nonzero(off)[0].max()) + 1

    measured = lag(DEFAULT_SMOOTH_BETA)
    assert measured <= 7  # measured 6 frames (0.2 s at 30 fps)
    assert lag(0.0) >= 3 * measured  # a plain low-pass (beta 0) lags 24 frames
    smoothed = _run(OneEuroFilter(FPS, 1.0, DEFAULT_SMOOTH_BETA, 1.0), signal)
    assert (smoothed <= 100.0 + 1e-9).all()  # no overshoot: a first-order filter


def test_timestamps_reset_and_errors():
    smooth = OneEuroFilter(10.0, 1.0, 0.0, 1.0)
    assert smooth(5.0, t=0.0) == 5.0  # the first sample passes through
    by_time = smooth(6.0, t=0.1)
    smooth.reset()
    smooth(5.0)
    assert smooth(6.0) == pytest.approx(by_time)  # t step 0.1 s == 1 / freq
    smooth.reset()
    assert smooth(np.ones((4, 2)) * 7).tolist() == (np.ones((4, 2)) * 7).tolist()
    with pytest.raises(ValueError, match="shape"):
        smooth(np.ones(3))
    smooth.reset()
    smooth(1.0, t=1.0)
    with pytest.raises(ValueError, match="timestamps must increase"):
        smooth(1.0, t=1.0)
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(30.0, min_cutoff=0.0)
    with pytest.raises(ValueError, match="beta"):
        OneEuroFilter(30.0, beta=-1.0)
