"""kerashg: Stacked Hourglass and ACNN heatmap pose estimation for Keras 3.

Public names: the models (`StackedHourglass`, `ACNN`), the `HeatmapCodec`, the
keypoint sets (`MPII`, `COCO`, `LSP`, `KeypointSet`), the crop transform and the
metrics.
"""

__version__ = "0.1.0"

from kerashg import metrics, transforms
from kerashg.codec import HeatmapCodec
from kerashg.keypoints import COCO, LSP, MPII, KeypointSet, get_keypoint_set
from kerashg.metrics import PCKMetric, coco_keypoint_ap, lsp_pck, mpii_pckh, mpii_pckh_curve, pck
from kerashg.models import ACNN, StackedHourglass
