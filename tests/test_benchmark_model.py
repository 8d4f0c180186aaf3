"""benchmarks.model: one subprocess per configuration, rounds in alternation, issue 11's ratios.

The children run on a tiny network (1 stack, 16 filters, 64×64, one step);
the round order, the summaries and the ratio lines are checked with a fake
child runner and fake figures, without any measurement.
"""

import importlib.util
import json
import math

import pytest

from benchmarks import model as bench

TINY = [
    "--stacks",
    "1",
    "--filters",
    "16",
    "--input-size",
    "64",
    "--steps",
    "1",
    "--warmup",
    "1",
    "--threads",
    "1",
]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _args(*extra):
    return bench.build_parser().parse_args([*TINY, *extra])


def _kerashg_params(stacks, filters, input_size):
    import kerashg

    network = kerashg.StackedHourglass(
        stacks, 16, filters, depth=4, input_shape=(input_size, input_size, 3)
    )
    return sum(math.prod(w.shape) for w in network.trainable_weights)


def _assert_child_result(result):
    for key in ("train", "forward", "rss_mb", "params"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, (key, result)


@pytest.mark.slow
def test_keras_child_prints_train_forward_and_peak_rss():
    args = _args("--batch-size", "1", "--precision", "float32")
    config = bench.plan(args)[0]
    assert config.name == "keras float32"
    assert "--child=keras" in bench.child_command(args, config)
    result = bench.run_child(args, config)
    assert result is not None
    _assert_child_result(result)
    assert result["flops"] > 0
    assert (result["framework"], result["network"], result["precision"]) == (
        "keras",
        "kerashg",
        "float32",
    )
    # A whole TensorFlow process: far more than a few MB.
    assert result["rss_mb"] > 50


@pytest.mark.slow
def test_torch_child_prints_train_forward_and_peak_rss_with_kerashg_parameter_count():
    pytest.importorskip("torch", reason="PyTorch is optional (benchmarks only)")
    # PyTorch's BatchNorm needs two values per channel at the 1×1 bottom: batch 2.
    args = _args("--batch-size", "2", "--precision", "float32", "--torch")
    config = next(c for c in bench.plan(args) if c.name == bench.TORCH_FLOAT32)
    assert config.layout == "channels_first"
    result = bench.run_child(args, config)
    assert result is not None
    _assert_child_result(result)
    assert result["optimizer"] == "rmsprop"
    assert result["params"] == _kerashg_params(1, 16, 64)


def test_rounds_run_every_configuration_in_alternation_and_summarize():
    args = _args("--torch", "--twin", "--rounds", "2", "--precision", "float32", "mixed_bfloat16")
    calls = []

    def fake_runner(run_args, config):
        calls.append(config.name)
        round_index = calls.count(config.name)
        return {
            "framework": config.framework,
            "network": config.network,
            "params": 10,
            "flops": 100,
            "train": 10.0 * round_index,
            "forward": 20.0 * round_index,
            "rss_mb": 100.0 + round_index,
        }

    results = bench.run(args, runner=fake_runner)
    one_round = [
        "keras float32",
        "torch float32 channels_first",
        "twin float32",
        "keras mixed_bfloat16",
        "torch float32 channels_last",
        "twin mixed_bfloat16",
        "torch bfloat16 channels_last",
    ]
    assert [c.name for c in bench.plan(args)] == one_round
    assert calls == one_round + one_round
    summary = bench.summarize(results)
    assert list(summary) == one_round
    for entry in summary.values():
        assert entry["rounds"] == 2
        assert entry["train"] == 15.0 and (entry["train_min"], entry["train_max"]) == (10.0, 20.0)
        assert entry["forward"] == 30.0
        assert entry["rss_mb"] == 102.0


def test_a_failed_round_is_left_out_of_the_median():
    results = {
        "keras float32": [
            {
                "framework": "keras",
                "network": "kerashg",
                "train": 1.0,
                "forward": 2.0,
                "rss_mb": 5.0,
            },
            None,
            {
                "framework": "keras",
                "network": "kerashg",
                "train": 3.0,
                "forward": 4.0,
                "rss_mb": 7.0,
            },
        ],
        "torch float32 channels_first": [None, None],
    }
    summary = bench.summarize(results)
    assert list(summary) == ["keras float32"]
    assert summary["keras float32"]["train"] == 2.0 and summary["keras float32"]["rounds"] == 2


def _fake_summary():
    def entry(framework, network, train, rss):
        return {
            "framework": framework,
            "network": network,
            "params": 7,
            "flops": 1e9,
            "train": train,
            "train_min": train,
            "train_max": train,
            "forward": 2 * train,
            "forward_min": 2 * train,
            "forward_max": 2 * train,
            "rss_mb": rss,
            "rounds": 2,
        }

    return {
        "keras float32": entry("keras", "kerashg", 12.0, 1500.0),
        "torch float32 channels_first": entry("torch", "torch", 10.0, 1000.0),
        "keras mixed_bfloat16": entry("keras", "kerashg", 18.0, 1600.0),
        "torch float32 channels_last": entry("torch", "torch", 11.0, 1100.0),
        "twin float32": entry("keras", "twin", 15.0, 1400.0),
        "torch bfloat16 channels_last": entry("torch", "torch", 9.0, 900.0),
    }


EXPECTED_LINES = [
    "train float32: keras 12.00 img/s / torch eager float32 10.00 img/s = 1.20×  (goal ≥ 1.2×)",
    "train best: keras (mixed_bfloat16) 18.00 / torch (float32 channels_last) 11.00 = 1.64×  "
    "(goal ≥ 1.5×)",
    "peak RSS training: keras float32 1500 MB / torch eager float32 1000 MB = 1.50×  (goal ≤ 1.2×)",
]


def test_ratio_lines_from_given_figures():
    figures = bench.ratios(_fake_summary())
    assert bench.ratio_lines(figures) == EXPECTED_LINES
    # The stock-Keras twin is not a kerashg configuration: never "best".
    assert figures["train_best"]["keras_name"] == "mixed_bfloat16"
    assert figures["twin"] == [
        {
            "keras_name": "keras float32",
            "keras": 12.0,
            "twin_name": "twin float32",
            "twin": 15.0,
            "ratio": 0.8,
        }
    ]


def test_ratio_lines_say_what_is_missing():
    summary = {k: v for k, v in _fake_summary().items() if k.startswith("keras")}
    lines = bench.ratio_lines(bench.ratios(summary))
    assert len(lines) == 3
    assert lines[0].startswith("train float32: n/a") and "(goal ≥ 1.2×)" in lines[0]
    assert lines[1].startswith("train best: n/a")
    assert lines[2].startswith("peak RSS training: n/a")


@pytest.mark.skipif(not HAS_TORCH, reason="--torch refuses to start without PyTorch")
def test_command_prints_the_ratio_block_then_one_json_object(monkeypatch, capsys):
    summary = _fake_summary()

    def fake_runner(run_args, config):
        if config.name not in summary:
            return None  # a failed child: its configuration is left out
        entry = summary[config.name]
        return {
            k: entry[k]
            for k in ("framework", "network", "params", "flops", "train", "forward", "rss_mb")
        }

    monkeypatch.setattr(bench, "run_child", fake_runner)
    bench.main(
        [
            *TINY,
            "--batch-size",
            "2",
            "--torch",
            "--twin",
            "--precision",
            "float32",
            "mixed_bfloat16",
            "--json",
        ]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-4:-1] == EXPECTED_LINES
    output = json.loads(lines[-1])
    assert output["ratios"]["train_float32"]["ratio"] == pytest.approx(1.2)
    assert output["results"]["keras float32"]["rounds"] == 2
    assert len(output["results"]["keras float32"]["runs"]) == 2
    assert output["settings"]["optimizer"] == "rmsprop"
    assert "twin mixed_bfloat16" not in output["results"]
    assert any(line.startswith("peak RSS MB") for line in lines)


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--twin", "--model", "acnn"], "--twin"),
        (["--rounds", "0"], "--rounds"),
        (["--torch", "--batch-size", "1"], "--torch" if not HAS_TORCH else "BatchNorm"),
    ],
)
def test_option_errors_are_one_line(options, expected, capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main([*TINY, *options])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0]


def test_peak_rss_reads_vmhwm_or_falls_back_to_getrusage(monkeypatch):
    assert bench.peak_rss_mb() > 0

    def no_proc(*args, **kwargs):
        raise OSError("no /proc")

    monkeypatch.setattr(bench, "open", no_proc, raising=False)
    assert bench.peak_rss_mb() > 0


@pytest.mark.parametrize("stacks", [1, 2])
def test_stock_keras_twin_has_kerashg_parameters(stacks):
    import kerashg
    from benchmarks.keras_twin import build_twin

    reference = kerashg.StackedHourglass(stacks, 16, 16, depth=4, input_shape=(64, 64, 3))
    twin = build_twin(stacks, 16, 16, 4, (64, 64, 3))
    assert twin.count_params() == reference.count_params()

    def shapes(weights):
        return sorted(tuple(w.shape) for w in weights)

    assert shapes(twin.trainable_weights) == shapes(reference.trainable_weights)
    assert shapes(twin.non_trainable_weights) == shapes(reference.non_trainable_weights)
    assert (
        twin.output["heatmaps"].shape
        == reference.output["heatmaps"].shape
        == (
            None,
            stacks,
            16,
            16,
            16,
        )
    )
