"""kerashg: Stacked Hourglass and ACNN heatmap pose estimation for Keras 3.

Public names: the models (`StackedHourglass`, `ACNN`), the `HeatmapCodec`, the
keypoint sets (`MPII`, `COCO`, `LSP`, `KeypointSet`), the crop transform and the
metrics.
"""

__version__ = "0.1.0"

from kerashg import transforms
from kerashg.codec import HeatmapCodec
from kerashg.keypoints import COCO, LSP, MPII, KeypointSet, get_keypoint_set
from kerashg.models import ACNN, StackedHourglass
