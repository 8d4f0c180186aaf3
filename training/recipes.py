"""Named recipes: complete sets of training defaults (`--recipe`), and the device's.

A run fills every `TrainConfig` field left `None` from one recipe of `RECIPES`:
"acnn-paper" and "hourglass-paper" (the papers' recipes as the original Torch
code runs them: Torch's RMSprop and initialisation, the papers' batch, epochs
and ×0.1 drops at given epochs), or, by default, the device's:

- CPU only (synthetic data, "cpu"): a configuration sized so that the whole
  default run finishes in 15–20 minutes on 2 cores (small input, few filters, a
  fixed number of steps) with a recipe that leaves the all-zero plateau quickly
  (foreground-weighted MSE, Adam, warm-up + cosine decay). See `CPU_DEFAULTS`;
  real photos on a CPU ("cpu-real") add `CPU_REAL_DEFAULTS`.
- GPU ("gpu"): close to the papers (256×256 input, 256 filters, plain MSE, Keras'
  RMSprop, learning rates 5e-4 / 2.5e-4 / 2.5e-4 for ACNN phases A, B, C, each
  dropped ×0.1 late in the phase). See `GPU_DEFAULTS`.

Per-phase values (`lr`, `phase_epochs`, `milestones`) are tuples in ACNN phase
order A, B, C; a plain stacked hourglass trains in one phase and takes the first
value (see `training.config.HOURGLASS_PHASE`). Plain Python: no TensorFlow.
"""

from __future__ import annotations

from typing import Any

# The papers' learning rates of ACNN phases A, B, C (pose, attention, joint).
PAPER_PHASE_LRS = (5e-4, 2.5e-4, 2.5e-4)

# Device-dependent defaults, keyed by TrainConfig field. Per-phase values are
# tuples in phase order A, B, C; a plain stacked hourglass uses the first.
GPU_DEFAULTS: dict[str, Any] = dict(
    input_size=256,
    filters=256,
    depth=4,
    stem_filters=(64, 128),
    batch_size=16,
    loss="mse",
    optimizer="rmsprop",
    schedule="step",
    lr=PAPER_PHASE_LRS,
    phase_epochs=(100, 25, 25),
    steps_per_epoch=1000,
    sigma=1.0,
    augment="full",
)
# Sized for a 2-core CPU: 4 stacks of 64 filters at 128×128 (32×32 heatmaps),
# 17 min 22 s measured when the cores are free (91.2% PCK@0.5). Input 128 is
# the smallest that keeps PCK@0.5 meaningful on the synthetic figures (half a
# head is ~1.75 heatmap pixels there). What the recipe rests on, measured on this machine:
# - Plain MSE against sigma-1 Gaussians sits on the all-zero plateau for such a
#   short budget with Glorot + Keras' RMSprop (not with Torch's: docs/TRAINING_RUNS.md, issue 13); weighting the target's foreground pixels leaves it in ~100 steps.
# - Adam at a high constant rate, ×0.1 only for the last 20% of each phase after
#   a linear warm-up: cosine decay to 0 over phase A measured 41% PCK after A
#   against 58% with the rate still high.
# - Batch 8, not 16: at equal images (600-step hourglass proxies) batch 8 reached
#   68.8% PCK@0.5 against 59.6% for 16 and 50.0% for 32, while a batch-8 step
#   costs ~1.3–1.4× more per image.
# - Light augmentation: without rotation the held-out figures are learnt faster
#   (no augmentation measured 61.9% against 59.6% at 600 steps).
# - The 16/32 stem: the paper's 64/128 stem at H/2 dominated a 64-filter
#   network's step (0.89 → 0.46 s at batch 16).
# - mixed_bfloat16 cost no accuracy: 57.1% against float32's 55.9% after the
#   same 600 steps.
# Phase A (pose) gets most of the budget, B (attention only) is short, and C
# restarts the rate for joint training. See docs/TRAINING_RUNS.md for the measured runs.
CPU_DEFAULTS: dict[str, Any] = dict(
    input_size=128,
    filters=64,
    depth=3,
    stem_filters=(16, 32),
    batch_size=8,
    loss="fg_mse",
    optimizer="adam",
    schedule="warmup_step",
    lr=(2e-3, 1e-3, 1e-3),
    phase_epochs=(16, 1, 6),
    steps_per_epoch=200,
    sigma=1.0,
    augment="light",
    # The job must end in <= 20 minutes on 2 cores whose speed varies 1.5x from day
    # to day (17 min 22 s on a good day). The budget counts from the command's start
    # to the end of training; what follows (final evaluation with the flip test,
    # saves) measured 121 s on an AVX2 day (18-minute budget, 20 min 14 s wall), so
    # 17 minutes leave 3 for it, its time on a 1.5x slower machine. On a slow day the
    # later epochs shrink to fit (`training.budget`), on a good one nothing changes.
    time_budget=17.0,
)


# Real photos on a CPU (`--data lsp|mpii|coco`): the CPU network and optimiser,
# with wider targets and a longer budget, sized for ≤ 60 minutes on 2 cores with
# margin (see docs/TRAINING_RUNS.md for the measured runs on LSP-extended). Measured on
# 600-step LSP-extended proxies (phase A, batch 8, same seed; PCK@0.2 of the torso
# on images 8,101–9,000): sigma 1 / light 8.8 %, sigma 2 / light 12.6 %,
# sigma 2 / full augmentation (rotation ±30° for 40 % of crops, scale ±25 %) 9.6 %.
# - sigma 2 heatmap pixels: the wider targets are found sooner, and PCK@0.2 of
#   the torso (about 2 heatmap pixels on a 128-pixel crop) does not need the
#   narrow peak of sigma 1.
# - 400 steps per epoch: the whole held-out split (900 images) is validated after
#   every epoch, so fewer, longer epochs keep validation near 3 % of the run.
# - loose crops (issue 22): from the previous shipped model, 10,000 steps of loose
#   crops gave 42.69 % on whole images (two passes) against 23.08 % for the tight-crop
#   model, for 2.6 points less with the annotated box (docs/REAL_PHOTOS.md).
# - mixed crops (half loose, half the box crop, which the second pass without a box
#   sees): 9,600 more steps from that model raised its box figure 47.40 -> 53.25 %
#   and its one-pass whole-image figure 34.19 -> 35.26 % (the shipped model; more
#   steps at a lower rate are in that gain too: no loose-only twin was run). The
#   60-minute recipe run itself was re-measured with neither.
CPU_REAL_DEFAULTS: dict[str, Any] = dict(
    sigma=2.0,
    augment="mixed",
    phase_epochs=(8, 1, 3),
    steps_per_epoch=400,
    # <= 60 minutes on 2 cores (49 min 57 s measured, other jobs on the cores): 55 for the
    # command, the rest for start-up (reading the data set), the final evaluation and saves.
    time_budget=55.0,
)


# Settings every recipe has and the device defaults above leave to these values.
# No time budget (`--time-budget`): a GPU run or a paper's recipe is sized by its epochs.
COMMON_DEFAULTS: dict[str, Any] = dict(
    model="acnn", stacks=4, init="glorot", milestones=None, time_budget=None
)
# The ACNN paper's recipe (Sun, Ye, Wang 2018): the paper's 4-stack ACNN at
# 256×256 with 256 filters, batch 12, RMSprop as Torch's optim.rmsprop, Torch7's
# initialisation, plain MSE; phase A 200 epochs at 5e-4, B 200 at 2.5e-4, C 100
# at 2.5e-4, each rate ×0.1 at the epochs listed in `milestones`; an epoch is one
# pass over the training split (`steps_per_epoch=0`). Targets: the Torch
# hourglass code's Gaussian, 1.75 heatmap pixels wide (`kerashg.codec`'s `sigma`);
# augmentation: the hourglass recipe.
ACNN_PAPER: dict[str, Any] = dict(
    GPU_DEFAULTS,
    model="acnn",
    stacks=4,
    batch_size=12,
    optimizer="rmsprop_torch",
    init="torch",
    schedule="milestones",
    lr=PAPER_PHASE_LRS,
    phase_epochs=(200, 200, 100),
    milestones=((120, 170), (120, 170), (50, 70)),
    steps_per_epoch=0,
    sigma=1.75,
    augment="full",
)
# The Stacked Hourglass paper's recipe as princeton-vl/pose-hg-train runs it
# (src/opts.lua): 8 stacks of 256 filters at 256×256, batch 6 (-trainBatch),
# rmsprop at 2.5e-4 (-LR, alpha 0.99, epsilon 1e-8), Torch7's initialisation,
# MSE, 1.75-pixel Gaussians; 100 epochs (-nEpochs) of 8000 iterations
# (-trainIters: a Torch "epoch" is a fixed number of steps, 48,000 crops, about
# two passes over MPII's training people). The code never drops the rate
# (-LRdecay 0); the paper drops it ×0.1 once "after validation accuracy
# plateaus", by hand, at no stated epoch, so the recipe keeps it constant.
HOURGLASS_PAPER: dict[str, Any] = dict(
    GPU_DEFAULTS,
    model="hourglass",
    stacks=8,
    batch_size=6,
    optimizer="rmsprop_torch",
    init="torch",
    schedule="milestones",
    lr=(2.5e-4,),
    phase_epochs=(100,),
    milestones=((),),
    steps_per_epoch=8000,
    sigma=1.75,
    augment="full",
)
# Named recipes (`--recipe`), each a complete set of defaults; options given
# explicitly win over them. Without `--recipe` a run takes "gpu" on a GPU,
# otherwise "cpu" (synthetic data) or "cpu-real" (a real data set).
RECIPES: dict[str, dict[str, Any]] = {
    "cpu": {**COMMON_DEFAULTS, **CPU_DEFAULTS},
    "cpu-real": {**COMMON_DEFAULTS, **CPU_DEFAULTS, **CPU_REAL_DEFAULTS},
    "gpu": {**COMMON_DEFAULTS, **GPU_DEFAULTS},
    "acnn-paper": {**COMMON_DEFAULTS, **ACNN_PAPER},
    "hourglass-paper": {**COMMON_DEFAULTS, **HOURGLASS_PAPER},
}


def recipe_name(data: str, gpu: bool) -> str:
    """The recipe a run on `data` takes without `--recipe`."""
    if gpu:
        return "gpu"
    return "cpu" if data == "synthetic" else "cpu-real"


def describe_recipe(name: str) -> str:
    """One line of what recipe `name` sets (for `--help` and the start of a run)."""
    r = RECIPES[name]
    epochs = ",".join(map(str, r["phase_epochs"]))
    epoch = (
        "one pass over the training split"
        if r["steps_per_epoch"] == 0
        else f"{r['steps_per_epoch']} steps"
    )
    if r["schedule"] == "milestones":
        drops = "; ".join(",".join(map(str, m)) or "none" for m in r["milestones"])
        drops = f"×0.1 at epochs {drops}"
    else:
        drops = f"schedule {r['schedule']}"
    return (
        f"{name}: {r['model']} {r['stacks']} stacks, {r['filters']} filters, depth "
        f"{r['depth']}, input {r['input_size']}, batch {r['batch_size']}, loss {r['loss']}, "
        f"optimizer {r['optimizer']}, init {r['init']}, lr {','.join(map(str, r['lr']))}, "
        f"epochs {epochs} (epoch = {epoch}), {drops}, sigma {r['sigma']}, "
        f"augment {r['augment']}"
        + (f", time budget {r['time_budget']:g} min" if r["time_budget"] else "")
    )


def device_defaults(data: str, gpu: bool) -> dict[str, Any]:
    """The defaults of a run on `data` ("synthetic" or a real data set)."""
    return RECIPES[recipe_name(data, gpu)]
