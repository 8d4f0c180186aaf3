"""The `kerashg` command: one name over every tool, answering --help at once."""

import os
import pathlib
import shutil
import subprocess
import sys
import time
import tomllib

import pytest

from kerashg_command import BENCHMARKS, COMMANDS, main

ROOT = pathlib.Path(__file__).resolve().parents[1]

# `kerashg --help` in a fresh interpreter: what it printed and the heavy modules it loaded.
_HELP = """
import contextlib, io, json, sys
from kerashg_command import main
text = io.StringIO()
with contextlib.redirect_stdout(text):
    try:
        main(["--help"])
    except SystemExit as stop:
        code = stop.code
heavy = ("tensorflow", "keras", "numpy", "cv2", "ai_edge_litert", "onnxruntime")
print(json.dumps({"code": code, "help": text.getvalue(),
                  "loaded": sorted({m.partition(".")[0] for m in sys.modules} & set(heavy))}))
"""


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_help_imports_nothing_heavy_and_answers_within_a_second():
    import json

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _HELP], capture_output=True, text=True, env=_env(), cwd=ROOT
    )
    seconds = time.perf_counter() - start  # the whole process: interpreter start included
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["code"] == 0 and report["loaded"] == []  # no TensorFlow, not even NumPy
    for name in ("predict", "train", "evaluate", "export", "benchmark", "presets"):
        assert f"  {name} " in report["help"]
    assert seconds < 1.0, f"kerashg --help took {seconds:.2f} s"


def test_the_console_script_is_declared_and_installed():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"kerashg": "kerashg_command:main"}
    executable = shutil.which("kerashg")
    if executable is None:
        pytest.skip("the kerashg script is not installed here (pip install -e .)")
    done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "kerashg predict" in done.stdout, done.stderr


def _status(argv) -> int:
    """`main(argv)`'s exit status, returned or raised (argparse's --help exits)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def test_every_command_has_a_main_with_its_own_help(capsys):
    # Each command is its `python -m` module's main: the same parser and options.
    # Its usage line names it as typed; the rest is the module's own help.
    import importlib

    for name, (module, _) in COMMANDS.items():
        if module is None:
            continue
        assert _status([name, "--help"]) == 0, name
        via_kerashg = capsys.readouterr().out
        assert via_kerashg.startswith(f"usage: kerashg {name} "), name
        try:
            status = importlib.import_module(module).main(["--help"])
        except SystemExit as stop:
            status = stop.code
        assert status in (0, None), name
        own = capsys.readouterr().out
        typed = module.removesuffix(".__main__").removesuffix(".cli")
        assert own.startswith(f"usage: python -m {typed} "), name
        # After the usage lines (wrapped to the name's length): the same text.
        assert via_kerashg.split("\n\n", 1)[1] == own.split("\n\n", 1)[1], name
    assert _status(["benchmark", "model", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: kerashg benchmark model ")
    modules = {f"benchmarks.{path.stem}" for path in ROOT.glob("benchmarks/*.py")}
    assert set(BENCHMARKS.values()) <= modules


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["nope"])
    assert stop.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_presets_lists_the_named_models(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "acnn4_lsp_128" in out and "722,208 parameters" in out and "PCK@0.2" in out


def test_predict_runs_through_the_command(tmp_path, monkeypatch):
    import json

    import numpy as np

    from kerashg.runtime import Runner

    class CentreRunner(Runner):
        format = "centre"

        def __init__(self):
            super().__init__()
            self.input_size = (64, 64)

        def keypoints(self, images):
            return np.tile([[32.0, 32.0, 0.9]], (len(images), 14, 1)).astype(np.float32)

    import cv2

    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((40, 60, 3), np.uint8))
    from kerashg import pose_estimator

    monkeypatch.setattr(pose_estimator, "load_runner", lambda path, threads=None: CentreRunner())
    out = tmp_path / "o"
    args = ["predict", str(image), "--model", "any.tflite", "--out", str(out), "--passes", "1"]
    assert main(args) == 0
    report = json.loads((out / "keypoints.json").read_text())
    assert report["results"][0]["keypoints"][0][:2] == [29.5, 19.5]  # the frame's centre
