"""The training curve of docs/: val PCK against training hours from metrics.json."""

from __future__ import annotations

import json

import pytest

from benchmarks import plot_history
from kerashg.errors import InputError


def _metrics(path, seconds, pck, whole=None):
    history = [
        {"phase": "A", "epoch": i + 1, "seconds": s, "pck": p}
        | ({} if whole is None else {"pck_whole": whole[i]})
        for i, (s, p) in enumerate(zip(seconds, pck, strict=True))
    ]
    path.write_text(json.dumps({"pck_label": "PCK@0.2 (torso)", "history": history}))
    return path


def test_runs_continue_one_another_on_the_hour_axis(tmp_path):
    first = _metrics(tmp_path / "a.json", [1800, 3600], [40.0, 45.0], whole=[20.0, 30.0])
    second = _metrics(tmp_path / "b.json", [3600], [50.0])
    lines = plot_history.curves([first, second], offset_hours=0.5)
    assert lines["pck"] == ([1.0, 1.5, 2.5], [40.0, 45.0, 50.0])
    assert lines["pck_whole"] == ([1.0, 1.5], [20.0, 30.0])


def test_the_command_draws_a_png_and_keeps_an_existing_one(tmp_path):
    metrics = _metrics(tmp_path / "m.json", [600, 1200], [30.0, 35.0], whole=[10.0, 20.0])
    out = tmp_path / "curve.png"
    assert plot_history.main([str(metrics), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = out.read_bytes()
    with pytest.raises(SystemExit) as stop:
        plot_history.main([str(metrics), "--out", str(out)])
    assert stop.value.code == 2 and out.read_bytes() == before


def test_a_run_without_history_is_one_error(tmp_path):
    empty = tmp_path / "metrics.json"
    empty.write_text(json.dumps({"history": []}))
    with pytest.raises(InputError, match="no validated epoch"):
        plot_history.read_history(empty)
