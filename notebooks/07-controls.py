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
# # What carries identity?
#
# The paper's claim is that a micro-expression's movement identifies the person.
# A face's appearance identifies a person too, and a 3D CNN sees both. Here the
# same SlowFast configuration is trained on altered inputs, built from the same
# cached windows and the same splits, so that only appearance or only motion is
# left (`data.input`, `mlib.inputs`):
#
# * **clip**: the window's frames as the study samples them;
# * **static-apex**, **static-first**: one frame (the apex, or the window's first
#   frame) repeated: appearance only;
# * **shuffled**: the frames in a random order, fixed per clip and seed: appearance
#   and frame statistics without temporal order;
# * **difference**: signed differences of consecutive frames: motion, with the
#   still face cancelled;
# * **pyslowfast**: the clip as the original code's decoder sampled it
#   (`data.sampling: pyslowfast`: on a 64-frame window, positions 0, 13, 27, 40,
#   54 and then the last frame 59 times).
#
# Each point is the test rank-1 with its 95 % bootstrap interval (averaged over
# split seeds when there are several). The dotted line is chance (1 / subjects),
# the dashed one the rate of always answering the most frequent training subject.
# The verdict under each panel comes from `mlib.controls.motion_verdict`, whose
# rule is printed below: a variant *identifies* when its interval's lower bound
# is above both lines; a negative result is read against the positive control
# (a classifier that sees only motion on the same corpus) when one is given.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/mlib-study/micro-expression-person-recognition"], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) or None for the defaults
overrides = {}  # dotted keys over the profile, e.g. {"train.epochs": 1}
corpora = None  # name -> {"cache": folder, "split": file or [files], "runs_dir": folder, "positive_control": accuracy}
variants = None  # the input variants to train (None: all of mlib.controls.VARIANTS)
out = "results/controls"  # where controls.csv is written

# %%
from mlib import config, controls
from mlib.plots import show, show_table
from mlib.plots.controls import controls_figure

cfg = config.resolve(profile, overrides)
if not corpora:
    raise ValueError("set the parameter corpora: name -> {'cache': ..., 'split': ..., 'runs_dir': ...}")

# %% [markdown]
# ## Training (or reusing) one run per corpus and variant

# %%
table = controls.run_controls(cfg, corpora, out, variants=variants or tuple(controls.VARIANTS))
summary = controls.summarize(table)
found = controls.verdicts(summary)
print(f"{len(table)} runs, {cfg['train']['epochs']} epochs each; table written to {out}/controls.csv")

# %% [markdown]
# ## Rank-1 per input variant

# %%
show(controls_figure(summary, found))
show_table(summary.round(3))

# %% [markdown]
# ## The verdict and its rule

# %%
print(controls.motion_verdict.__doc__)
show_table(found)
for row in found.itertuples():
    print(f"{row.corpus}: {row.verdict}")
