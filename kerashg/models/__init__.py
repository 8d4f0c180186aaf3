"""kerashg models: StackedHourglass and ACNN."""

from kerashg.models.acnn import ACNN
from kerashg.models.stacked_hourglass import StackedHourglass

__all__ = ["ACNN", "StackedHourglass"]
