"""`PoseTracker`: people through a video, frame after frame (`PoseEstimator.stream()`).

What a video needs between frames, kept in one object: each person's track id
(the i-th box, or boxes followed by overlap, `kerashg.boxes.match_tracks`), the
crop of one person followed without boxes (`kerashg.cropping.CropTracker`), and
each track's One Euro filter (`kerashg.smoothing.OneEuroFilter`). NumPy only.
"""

from __future__ import annotations

from kerashg.boxes import match_tracks
from kerashg.cropping import CropTracker
from kerashg.person import Person
from kerashg.smoothing import OneEuroFilter

# One Euro speed coefficient for keypoints in pixels: on a 30 fps track it keeps
# about 1/3 of a still joint's jitter (0.30 with beta 0) while following a
# 100 px jump within 1 px in 6 frames instead of 24 (tests/test_smoothing.py).
DEFAULT_SMOOTH_BETA = 0.007


class PoseTracker:
    """Call it with each frame of a video, in order; it returns that frame's `Person`s.

    Args:
        estimator: the `PoseEstimator` that finds the people.
        fps: float > 0, the frames' rate: frame i is at i / fps seconds.
        smooth: One Euro filter each track's keypoints (x, y; scores as found).
        match_boxes: with boxes, follow them between frames by overlap (greedy
            IoU >= 0.3: a detector's boxes in any order); False: the i-th box is
            track i. Without boxes the one person is track 0.
        min_cutoff, beta, d_cutoff: the filter's parameters (Hz, per pixel / s, Hz).

    Raises:
        ValueError: a filter parameter out of range (checked here, before any frame).
    """

    def __init__(
        self,
        estimator,
        fps: float = 30.0,
        *,
        smooth: bool = True,
        match_boxes: bool = True,
        min_cutoff: float = 1.0,
        beta: float = DEFAULT_SMOOTH_BETA,
        d_cutoff: float = 1.0,
    ):
        self.estimator = estimator
        self.smoothing = dict(freq=fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
        OneEuroFilter(**self.smoothing)  # checks the parameters
        self.fps = float(fps)
        self.smooth = bool(smooth)
        self.match_boxes = bool(match_boxes)
        self.crops = CropTracker(
            estimator.runner, estimator.passes, flip_index=estimator.flip_index
        )
        self.reset()

    def reset(self) -> None:
        """Forget every track: the next frame starts afresh."""
        self.crops.reset()
        self.frame_index = 0
        self._boxes = {}  # track → its box in the last frame
        self._filters = {}  # track → its OneEuroFilter
        self._next_track = 0

    def __call__(self, frame, boxes=None, *, box_scores=None, with_masks=False) -> list[Person]:
        """The people of the next frame (see `PoseEstimator.__call__`), with `track` ids."""
        from kerashg.pose_estimator import as_rgb_image

        frame = as_rgb_image(frame)
        if boxes is None:
            prediction = self.crops(frame, with_masks)
            people = [Person.from_prediction(prediction, self.estimator.keypoint_set)]
        else:
            people = self.estimator(frame, boxes, box_scores=box_scores, with_masks=with_masks)
        tracks = self._track_ids(people, boxes is not None)
        for person, track in zip(people, tracks, strict=True):
            person.track = track
        if self.smooth:
            self._smooth(people)
        self._boxes = {p.track: p.box for p in people}
        self.frame_index += 1
        return people

    def _track_ids(self, people, boxed: bool) -> list[int]:
        if not (boxed and self.match_boxes):  # the i-th person is track i
            return list(range(len(people)))
        tracks, self._next_track = match_tracks(
            self._boxes, [p.box for p in people], self._next_track
        )
        return tracks

    def _smooth(self, people) -> None:
        """Each person's x, y through their track's filter; tracks not seen end."""
        filters, self._filters = self._filters, {}
        seconds = self.frame_index / self.fps
        for person in people:
            one_euro = filters.get(person.track) or OneEuroFilter(**self.smoothing)
            person.keypoints[:, :2] = one_euro(person.keypoints[:, :2], t=seconds)
            self._filters[person.track] = one_euro
