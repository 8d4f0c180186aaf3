"""Named recipes (`--recipe`) and the milestones schedule of the papers' recipes."""

import dataclasses
import json

import pytest

from training import config as config_lib
from training.config import TrainConfig, config_from_args, resolve_config
from training.phases import acnn_phases, joint_phase
from training.recipes import RECIPES, describe_recipe
from training.schedule import Schedule
from training.train import build_parser, main

ACNN_MILESTONES = ((120, 170), (120, 170), (50, 70))


def _drops(phase, steps_per_epoch):
    """lr just before / at each milestone of `phase` under the milestones schedule."""
    schedule = Schedule("milestones")
    total = phase.epochs * steps_per_epoch
    rates = []
    for epoch in phase.milestones:
        step = epoch * steps_per_epoch
        before = schedule(phase.learning_rate, step - 1, total, phase.milestones, steps_per_epoch)
        after = schedule(phase.learning_rate, step, total, phase.milestones, steps_per_epoch)
        rates.append((before, after))
    return rates


def test_milestones_schedule_drops_tenfold_at_each_paper_milestone():
    config = resolve_config(TrainConfig(recipe="acnn-paper"), gpu=False)
    phases = acnn_phases(config.phases, config.lr, config.phase_epochs, config.milestones)
    start = {"A": 5e-4, "B": 2.5e-4, "C": 2.5e-4}
    for phase in phases:
        drops = _drops(phase, steps_per_epoch=7)
        assert len(drops) == 2
        assert drops[0][0] == pytest.approx(start[phase.name])
        for before, after in drops:
            assert after == pytest.approx(0.1 * before)
        assert drops[1][0] == pytest.approx(drops[0][1])
    # Phase C's rate: 2.5e-4 up to epoch 50, 2.5e-5 to 70, 2.5e-6 after.
    c = phases[2]
    rate = [Schedule("milestones")(c.learning_rate, e * 7, 700, c.milestones, 7) for e in (0, 49, 50, 69, 70, 99)]  # fmt: skip
    assert rate == pytest.approx([2.5e-4, 2.5e-4, 2.5e-5, 2.5e-5, 2.5e-6, 2.5e-6])


def test_paper_recipes_resolve_to_the_papers_settings_and_options_win():
    acnn = resolve_config(TrainConfig(recipe="acnn-paper"), gpu=False)
    assert (acnn.model, acnn.stacks, acnn.batch_size, acnn.filters) == ("acnn", 4, 12, 256)
    assert (acnn.optimizer, acnn.init, acnn.schedule) == ("rmsprop_torch", "torch", "milestones")
    assert acnn.lr == (5e-4, 2.5e-4, 2.5e-4) and acnn.phase_epochs == (200, 200, 100)
    assert acnn.milestones == ACNN_MILESTONES and acnn.loss == "mse"
    assert acnn.steps_per_epoch == 0  # one pass over the training split
    hourglass = resolve_config(TrainConfig(recipe="hourglass-paper"), gpu=True)
    assert (hourglass.model, hourglass.stacks, hourglass.batch_size) == ("hourglass", 8, 6)
    assert hourglass.lr == (2.5e-4,) and hourglass.phase_epochs == (100,)
    assert hourglass.steps_per_epoch == 8000 and hourglass.milestones == ((),)
    # Explicit options win; the phases picked take their own milestones.
    mine = resolve_config(
        TrainConfig(recipe="acnn-paper", batch_size=4, stacks=2, phases=("B", "C")), gpu=True
    )
    assert (mine.batch_size, mine.stacks, mine.milestones) == (4, 2, ACNN_MILESTONES[1:])
    assert mine.lr == (2.5e-4, 2.5e-4) and mine.phase_epochs == (200, 100)
    # Without --recipe: the device's recipe, recorded by name.
    assert resolve_config(TrainConfig(), gpu=False).recipe == "cpu"
    assert resolve_config(TrainConfig(), gpu=True).recipe == "gpu"
    assert resolve_config(TrainConfig(data="lsp", data_dir="d"), gpu=False).recipe == "cpu-real"
    with pytest.raises(ValueError, match="--recipe"):
        resolve_config(TrainConfig(recipe="nope"), gpu=False)
    with pytest.raises(ValueError, match="hourglass-paper"):
        resolve_config(TrainConfig(recipe="hourglass-paper", model="acnn"), gpu=False)


def test_help_shows_what_each_recipe_sets_and_the_cli_passes_it():
    text = build_parser().format_help()
    flat = " ".join(text.split())
    for name in RECIPES:
        assert describe_recipe(name) in flat
    assert "acnn-paper: acnn 4 stacks" in flat and "batch 12" in flat
    assert "×0.1 at epochs 120,170; 120,170; 50,70" in flat
    args = build_parser().parse_args(["--recipe", "acnn-paper", "--init", "glorot"])
    config = config_from_args(args)
    assert (config.recipe, config.init, config.model, config.stacks) == (
        "acnn-paper",
        "glorot",
        None,
        None,
    )


@pytest.mark.slow
def test_acnn_paper_run_prints_and_saves_the_recipe(tmp_path, capsys):
    """A tiny `--recipe acnn-paper` run: sizes and steps overridden, the rest the paper's."""
    out = tmp_path / "run"
    metrics = main(
        [
            "--recipe",
            "acnn-paper",
            "--stacks",
            "1",
            "--filters",
            "8",
            "--depth",
            "1",
            "--stem-filters",
            "4,8",
            "--input-size",
            "32",
            "--phase-epochs",
            "1,1,1",
            "--steps-per-epoch",
            "0",
            "--batch-size",
            "4",
            "--synthetic-pool",
            "8",
            "--val-images",
            "4",
            "--precision",
            "float32",
            "--no-tensorboard",
            "--out",
            str(out),
        ]  # fmt: skip
    )
    printed = " ".join(capsys.readouterr().out.split())
    assert "Recipe acnn-paper: acnn 4 stacks" in printed
    assert "batch 12" in printed and "epochs 200,200,100" in printed
    assert "×0.1 at epochs 120,170; 120,170; 50,70" in printed
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics, default=float))
    recipe = saved["recipe"]
    assert recipe["name"] == "acnn-paper" and recipe["batch_size"] == 12
    assert recipe["phase_epochs"] == [200, 200, 100]
    assert recipe["milestones"] == [list(m) for m in ACNN_MILESTONES]
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == "acnn-paper" and config["init"] == "torch"
    assert config["optimizer"] == "rmsprop_torch"
    # One pass over the 8-image pool at batch 4 is 2 steps; the phases keep the
    # paper's milestones.
    assert saved["config"]["steps_per_epoch"] == 2
    assert [p["milestones"] for p in saved["phases"]] == [list(m) for m in ACNN_MILESTONES]


def test_every_option_is_a_config_field_written_once():
    """The parser is built from `TrainConfig`'s fields: name, default, choices, help."""
    parser = build_parser()
    actions = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    options = {name for name, f in fields.items() if f.metadata["group"]}
    assert {a.dest for a in actions.values()} - {"help"} == options
    for name in options:
        field, flag = fields[name], "--" + name.replace("_", "-")
        action = actions.get(flag) or actions["--no-" + flag[2:]]  # a flag defaulting to True
        assert action.dest == name and action.default == field.default, name
        assert tuple(action.choices or ()) == tuple(field.metadata["choices"] or ()), name
        assert field.metadata["help"].replace("%", "%%") in action.help, name
    groups = {g.title: {a.dest for a in g._group_actions} for g in parser._action_groups}
    for name, field in fields.items():
        if field.metadata["group"]:
            assert name in groups[field.metadata["group"]], name
    # Parsed lists become the field's tuples; options not given stay the recipe's.
    args = parser.parse_args(["--lr", "1e-3,5e-4", "--phases", "a,c", "--stem-filters", "8,16"])
    config = config_from_args(args)
    assert (config.lr, config.phases, config.stem_filters) == ((1e-3, 5e-4), ("A", "C"), (8, 16))
    assert config_from_args(parser.parse_args([])) == TrainConfig()
    with pytest.raises(ValueError, match="--lr must be comma-separated numbers"):
        config_from_args(parser.parse_args(["--lr", "fast"]))


def test_every_recipe_value_is_a_valid_choice():
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for name, recipe in RECIPES.items():
        for key, value in recipe.items():
            choices = fields[key].metadata["choices"]
            assert choices is None or value in choices, (name, key, value)


def test_the_hourglass_phase_is_named_for_itself_and_takes_the_first_values():
    """A stacked hourglass trains in one phase, "H": not "C", whose rate it does not take."""
    for recipe in ("cpu", "gpu"):
        config = resolve_config(TrainConfig(model="hourglass", recipe=recipe), gpu=False)
        defaults = RECIPES[recipe]
        assert config.phases == (config_lib.HOURGLASS_PHASE,) == ("H",)
        assert config.lr == (defaults["lr"][0],)  # phase A's rate
        assert config.phase_epochs == (sum(defaults["phase_epochs"]),)
        (phase,) = joint_phase(config.lr[0], config.phase_epochs[0], config.milestones[0])
        assert (phase.name, phase.train, phase.learning_rate) == ("H", "all", config.lr[0])
    # A run saved when the phase was called "C" still resolves (and resumes).
    old = resolve_config(TrainConfig(model="hourglass", phases=("C",)), gpu=False)
    assert old.phases == ("H",)
    with pytest.raises(ValueError, match="acnn only"):
        resolve_config(TrainConfig(model="hourglass", phases=("A",)), gpu=False)


def test_cpu_recipes_have_a_time_budget_and_gpu_and_paper_recipes_none():
    """The CPU jobs must end in <= 20 min (cpu) and <= 60 min (cpu-real) on 2 cores."""
    budgets = {name: recipe["time_budget"] for name, recipe in RECIPES.items()}
    assert budgets == {
        "cpu": 17.0, "cpu-real": 55.0, "gpu": None, "acnn-paper": None, "hourglass-paper": None
    }  # fmt: skip
    assert resolve_config(TrainConfig(), gpu=False).time_budget == 17.0
    assert resolve_config(TrainConfig(data="lsp", data_dir="d"), gpu=False).time_budget == 55.0
    assert resolve_config(TrainConfig(), gpu=True).time_budget is None
    # `--time-budget 0` switches a recipe's off, and a resume (config.json) keeps it off.
    parse = build_parser().parse_args
    off = resolve_config(config_from_args(parse(["--time-budget", "0"])), gpu=False)
    assert off.time_budget == 0.0 and TrainConfig.from_json(off.to_json()).time_budget == 0.0
    assert config_from_args(parse(["--time-budget", "12.5"])).time_budget == 12.5
    saved_before = {k: v for k, v in json.loads(off.to_json()).items() if k != "time_budget"}
    assert TrainConfig.from_json(json.dumps(saved_before)).time_budget == 0.0  # resumes as it ran
    with pytest.raises(ValueError, match="--time-budget must be minutes >= 0"):
        resolve_config(TrainConfig(time_budget=-1.0), gpu=False)
    flat = " ".join(build_parser().format_help().split())
    assert "17 on cpu, 55 on cpu-real, none on the others" in flat
    assert "cpu: acnn 4 stacks" in flat and "time budget 17 min" in flat
