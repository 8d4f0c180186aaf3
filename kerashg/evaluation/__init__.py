"""Official evaluations: MPII PCKh, LSP PCK and COCO keypoint AP, from files or a model.

The library behind `python -m kerashg.evaluate` (also `python -m training.evaluate`
and `kerashg evaluate`), one module per job:

- `kerashg.evaluation.files`: annotation and prediction files (ground truth of
  each data set, predictions `.h5` / `.mat`, COCO results JSON), read and checked;
- `kerashg.evaluation.scoring`: the scores of a predictions file
  (`evaluate_mpii`, `evaluate_lsp`, `evaluate_coco`, ...) through `kerashg.metrics`
  and `kerashg.coco_metrics`;
- `kerashg.evaluation.model_predictions`: a model (`kerashg.runtime.Runner`) over
  every person of a split, cropped as training validation crops, written as the
  predictions file the file mode scores;
- `kerashg.evaluation.mpii_files`: MPII's validation and test-server file layouts.

TensorFlow is imported only where a TensorFlow artifact runs (a `.keras` file or a
SavedModel): scoring files and running a `.tflite` or `.onnx` model need neither
TensorFlow nor Keras. This package defines no names of its own: import each from
its module.
"""
