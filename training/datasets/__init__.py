"""The synthetic data source moved to the library: `kerashg.data.synthetic`.

The readers of real data sets (MPII, COCO, LSP) and `load_records` live in the
library: `kerashg.data`.
"""
