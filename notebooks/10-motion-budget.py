# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (mlib)
#     language: python
#     name: mlib
# ---

# %% [markdown]
# # 10. Can the network learn a movement identity? Its learning budget on motion-only
#
# On the motion-only corpus every subject has the same face and differs only
# in how they move; motion features (FHOFO, the baseline page) and the
# generator's own movement parameters identify them. The book's SlowFast
# (width 32, 32 frames of 64 px, 12 epochs, about 40 training clips) stays at
# chance there. Before the controls page can say that a network "does not use
# movement", the same network must be shown to learn a movement identity where
# one exists: otherwise the honest reading is "this scale cannot tell".
# <!-- not results: 32, 40 (model.frames and the default split's training clips, settings of the profile and corpus) -->
#
# This page trains it on motion-only as its budget grows (`mlib.experiments.budget`; the
# configurations are `configs/grids/motion-budget.yaml`):
#
# * **epochs** (optimisation): 12 epochs of ~40 clips at batch 8 are ~60 Adam
#   steps for a network trained from scratch; 48 epochs are four times that;
# * **the input**: `difference` (consecutive frame differences) cancels the
#   shared face, so only movement is left to fit; `pyslowfast` sampling is the
#   original's decoder (five distinct frames, then the last one repeated), for
#   comparison;
# * **clips per subject** (data, `budget.clips_per_subject`): each value its
#   own motion-only corpus (8, the default corpus's, and 16, with the
#   difference input at 48 epochs only).
#
# Frames, resolution and width stay at the book's: the motion features already
# read the corpus at 32 frames of 64 px, and more width on ~40 clips adds
# parameters, not signal.
#
# **Where the numbers come from.** `make motion` (profile `motion`) trains the
# sweep, writes its runs under `results/motion/budget/` and rewrites the
# committed table `book/motion-budget/budget.csv` (`budget.published`). The
# default `make book` trains none of these runs: this page reads that
# committed table, so its numbers are those of the last `make motion`. Each
# interval is the 95 % bootstrap interval of the test rank-1 that resamples the
# test subjects, then each drawn subject's clips (`mlib.core.metrics`). The wall
# times are training minutes on 2 CPU cores **shared with other processes**:
# upper bounds of what 2 idle cores take.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) or None for the defaults
overrides = {}  # dotted keys over the profile, e.g. {"budget.clips_per_subject": [8, 16]}
out = "results/budget"  # where the sweep's runs and budget.csv go (budget.train: true)

# %%

from myst_nb import glue

from mlib.core import config
from mlib.experiments import budget
from mlib.plots import rule_prose, say, show, show_table
from mlib.plots.budget import budget_figure
from mlib.report import takeaways
from mlib.report.results import provenance_note

cfg = config.resolve(profile, overrides)
settings = cfg["budget"]
SOURCE = "notebooks/10-motion-budget.py"

# %% [markdown]
# ## The sweep

# %%
if settings["train"]:
    table = budget.run_budget(cfg, out)
    budget.publish(table, cfg)
    say(provenance_note(table["run_dir"], source=SOURCE))
else:
    table = budget.read_published(cfg)
    say(provenance_note([], source=SOURCE, inputs=[f"{settings['published']} (written by `make motion`)"]))
if table.empty:
    say(f"No sweep is published yet ({settings['published']}): run `make motion`.")
found = budget.budget_verdict(table, settings["target"], settings["cpu_minutes"])
sentence = takeaways.motion_budget(found)
glue("motion-budget", sentence, display=False)

# %% [markdown]
# ## Rank-1 against the training budget

# %%
if not table.empty:
    show(budget_figure(table, settings["target"], found.verdict))
    show_table(table.drop(columns=["run_dir"], errors="ignore").round(3))
say(sentence)

# %% [markdown]
# ## The verdict and its rule
#
# The controls page reads it: where the book's scale learns no movement
# identity on motion-only, a verdict that some budget here does learn one turns
# "this result cannot tell" into "rerun at that budget" (`mlib.experiments.controls.model_check`).

# %%
say(rule_prose(budget.budget_verdict))
if found.verdict not in (budget.LEARNS, budget.SOME):
    say(f"At the full scale on a GPU: `{budget.full_scale_command()}`.")
