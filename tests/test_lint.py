"""Lint: `ruff check` passes, with the function-size rules over the library and the commands."""

import importlib.util
import pathlib
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_function_size_rules_are_configured():
    """Size limits are for functions (ruff C901 and PLR0915), not files; they apply
    to kerashg/, training/ and export/ (tests and benchmarks are exempt)."""
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"C901", "PLR0915"} <= set(ruff["select"])
    assert ruff["mccabe"]["max-complexity"] == 12
    assert ruff["pylint"]["max-statements"] == 50
    exempt = {path for path, rules in ruff["per-file-ignores"].items() if "C901" in rules}
    assert exempt == {"tests/**", "benchmarks/**"}


def test_ruff_check_passes():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it is in the dev extra: pip install -e '.[dev]')")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# What each part of the project may not import (docs/LAYOUT.md): the library
# stands alone, `export/` builds on it alone, `training/` never needs `export/`.
FORBIDDEN_IMPORTS = {
    "kerashg": {"training", "export", "benchmarks", "kerashg_command"},
    "export": {"training", "benchmarks", "kerashg_command"},
    "training": {"export", "benchmarks", "kerashg_command"},
}


def _imported_packages(path: pathlib.Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in a file, function-level ones too."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.partition(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.partition(".")[0], node.lineno))
    return found


def test_layering_holds():
    """`kerashg/` (evaluation included) never imports `training/` or `export/`;
    `export/` never imports `training/`; `training/` never imports `export/`."""
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for part, forbidden in FORBIDDEN_IMPORTS.items()
        for path in sorted((ROOT / part).rglob("*.py"))
        for package, line in sorted(_imported_packages(path))
        if package in forbidden
    ]
    assert broken == []
