"""benchmarks.codec runs end to end on a tiny model and its two decoders agree."""

import pytest

from benchmarks import codec as bench


@pytest.mark.slow
def test_codec_benchmark_tiny_run():
    figures = bench.run(model_batch=2, repeats=1, model_repeats=1, filters=16, input_size=64)
    assert figures["heatmaps_shape"] == [64, 64, 64, 16]
    # DARK's logarithms differ in the last float32 bits between TF and NumPy.
    assert figures["decode_tf_vs_numpy_max_abs_diff_px"] < 1e-3
    assert figures["decode_tf_ms"] > 0 and figures["forward_ms_per_64"] > 0
    assert figures["forward_over_decode_tf"] == pytest.approx(
        figures["forward_ms_per_64"] / figures["decode_tf_ms"]
    )
    assert "decode (tf.function)" in bench.format_report(figures)
