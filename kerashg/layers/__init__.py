"""kerashg layers: the building blocks of Stacked Hourglass and ACNN."""

from kerashg.layers.attention_mask import AttentionMask
from kerashg.layers.hourglass import Hourglass
from kerashg.layers.residual import Residual
from kerashg.layers.stack_head import StackHead
from kerashg.layers.stack_merge import StackMerge
from kerashg.layers.stem import Stem

__all__ = ["AttentionMask", "Hourglass", "Residual", "StackHead", "StackMerge", "Stem"]
