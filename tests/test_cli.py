"""Every command line of the project: named as typed, documented, light and honest.

Each command builds its parser without importing TensorFlow (so `--help` and
option errors answer at once), every option says what it does, a normal run
prints no TensorFlow start-up noise, and a user error is one `error:` line with
exit status 2, never a traceback.
"""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Module → the command a user types.
COMMANDS = {
    "kerashg.predict": "python -m kerashg.predict",
    "training.train": "python -m training.train",
    "kerashg.evaluate": "python -m kerashg.evaluate",
    "training.visualize": "python -m training.visualize",
    "kerashg.data.synthetic.cli": "python -m kerashg.data.synthetic",
    "export.__main__": "python -m export",
    "benchmarks.codec": "python -m benchmarks.codec",
    "benchmarks.data": "python -m benchmarks.data",
    "benchmarks.export": "python -m benchmarks.export",
    "benchmarks.model": "python -m benchmarks.model",
    "benchmarks.torch_hourglass": "python -m benchmarks.torch_hourglass",
}

# What TensorFlow's libraries print on start-up when nothing silences them.
TF_NOISE = ("cudart_stub", "cpu_feature_guard", "absl::InitializeLog", "oneDNN", "cuInit")

# Builds every parser, asks each for --help and reports what it saw, in one process.
_INSPECT = """
import contextlib, importlib, io, json, sys
report = {}
for name in MODULES:
    parser = importlib.import_module(name).build_parser()
    undocumented = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not (action.help or "").strip()
    ]
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        try:
            parser.parse_args(["--help"])
        except SystemExit as stop:
            code = stop.code
    report[name] = {"prog": parser.prog, "undocumented": undocumented, "code": code,
                    "help": text.getvalue()}
heavy = [m for m in ("tensorflow", "keras", "torch") if m in sys.modules]
print(json.dumps({"commands": report, "heavy": heavy}))
"""


def _env() -> dict:
    """The environment of a user who set nothing: no logging settings of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel", "KERASHG_VERBOSE")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_every_parser_is_named_as_typed_documented_and_free_of_tensorflow():
    code = f"MODULES = {list(COMMANDS)!r}\n{_INSPECT}"
    returncode, out, err = _finish(_start("-c", code), timeout=120)
    assert returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["heavy"] == [], f"building the parsers imported {report['heavy']}"
    for name, prog in COMMANDS.items():
        seen = report["commands"][name]
        assert seen["prog"] == prog
        assert seen["help"].startswith(f"usage: {prog} "), name
        assert seen["code"] == 0, name
        assert seen["undocumented"] == [], f"{prog}: options without help {seen['undocumented']}"
        # Defaults come from the formatter, never "(default: None)" or typed twice.
        assert "(default: None)" not in seen["help"] and "(default: False)" not in seen["help"]


def test_option_names_without_tensorflow_agree_with_their_sources():
    from kerashg.layers import attention_mask
    from training import augment, config

    assert config.AUGMENT_LEVELS == tuple(augment.AUGMENT_PRESETS)
    assert config.MASK_MODES == attention_mask.MASK_MODES


def _broken_coco(root: pathlib.Path) -> pathlib.Path:
    """A COCO folder whose annotation misses a person's `image_id`."""
    (root / "train2017").mkdir(parents=True)
    (root / "annotations").mkdir()
    annotation = root / "annotations" / "person_keypoints_train2017.json"
    annotation.write_text(json.dumps({"images": [], "annotations": [{"id": 1}]}))
    return annotation


def _assert_one_error_line(result: tuple[int, str, str], *expected: str) -> None:
    returncode, _, err = result
    lines = err.strip().splitlines()
    assert returncode == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0]


def test_quiet_run_and_one_line_errors(tmp_path):
    """A normal run loads TensorFlow without a word on stderr; bad data is one line.

    The three commands run side by side. The two given a broken annotation file
    report the project's `AnnotationError` (file, record, field) before they
    load TensorFlow.
    """
    annotation = _broken_coco(tmp_path / "coco")
    tiny = ["--input-size", "64", "--batch-size", "4", "--batches", "1", "--warmup", "0"]
    coco = ["--data", "coco", "--data-dir", str(tmp_path / "coco")]
    commands = {
        "normal": ["benchmarks.data", "--synthetic-samples", "8", "--threads", "1", "--json"],
        "data": ["benchmarks.data", *coco],
        "visualize": ["training.visualize", *coco, "--out", str(tmp_path / "grid.png")],
    }
    commands["normal"] += tiny
    runs = {name: _start("-m", *command) for name, command in commands.items()}
    results = {name: _finish(process) for name, process in runs.items()}

    returncode, out, err = results["normal"]
    assert returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["samples"] == 4
    for noise in TF_NOISE:
        assert noise not in err, err
    for name in ("data", "visualize"):
        _assert_one_error_line(
            results[name], str(annotation), "record annotations[0]", "'image_id'"
        )


def test_option_errors_are_one_line_before_any_work(tmp_path):
    # Checked by the command before any rendering (and without TensorFlow).
    command = ["kerashg.data.synthetic", "--out", str(tmp_path / "s"), "--n", "2"]
    result = _finish(_start("-m", *command, "--difficulty", "impossible"), timeout=120)
    _assert_one_error_line(result, "difficulty", "'impossible'")
    assert not (tmp_path / "s").exists()


_ONEDNN_PROBE = """
import argparse
from kerashg import cli

def probe(args):
    from tensorflow.python.util import _pywrap_util_port
    print(_pywrap_util_port.IsMklEnabled())

cli.run(lambda: argparse.ArgumentParser(), probe, [])
"""


def test_commands_turn_onednn_on_unless_the_user_said_otherwise():
    """`cli.run` sets `TF_ENABLE_ONEDNN_OPTS=1` before TensorFlow loads (TensorFlow
    itself enables oneDNN only on AVX512_VNNI/BF16/AMX CPUs); a user's 0 wins."""
    default = subprocess.Popen(
        [sys.executable, "-c", _ONEDNN_PROBE], cwd=ROOT, text=True,
        env={k: v for k, v in _env().items() if k != "TF_ENABLE_ONEDNN_OPTS"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    refused = subprocess.Popen(
        [sys.executable, "-c", _ONEDNN_PROBE], cwd=ROOT, text=True,
        env={**_env(), "TF_ENABLE_ONEDNN_OPTS": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    for process, expected in ((default, "True"), (refused, "False")):
        returncode, out, err = _finish(process, timeout=120)
        assert returncode == 0, err
        assert out.strip().splitlines()[-1] == expected
