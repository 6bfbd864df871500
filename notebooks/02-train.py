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
# # 2. Training one SlowFast identifier
#
# One run of `mlib train` (the function `mlib.training.train.train`) on a prepared clip
# cache and split file: SlowFast on the 64-frame face windows, trained to name
# the subject (closed-set identification), selected on the validation part when
# the split has one, and evaluated once on the held-out test part. In this code
# **alpha** is SlowFast's frame-rate ratio (the Slow pathway sees every alpha-th
# frame of the Fast one) and **beta** its channel ratio (the Fast pathway has
# 1/beta_inv of the Slow pathway's channels), whatever the paper's looser wording.
# The run is the configuration resolved from `profile` and `overrides`; its
# folder is named by a hash of the settings that shape the result
# (`mlib.training.train.run_folder`), so the study, `mlib train` and this notebook run by
# hand with the same settings find the same folder, and a finished one is reused.
# For this page the study adds the paper's Table 1 choice for the database
# (`mlib.study.runner.table1_overrides`: alpha, beta, solver, learning rate and, on the
# `full` profile, batch size); run by hand, pass those in `overrides` too.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) merged over mlib/defaults.yaml; None: the defaults
overrides = {}  # dotted settings over the profile; run.cache and run.split name the inputs (notebook 01) and
# run.out the parent of run folders, e.g. {"run.cache": "cache/casme2-...", "run.split": "cache/casme2-.../splits/half-test0.5-val0.1-seed42.csv"}
preprocessed = "figures/01-preprocess/data.json"  # notebook 01's record: the cache and split when overrides name none

# %%
from mlib.core import config
from mlib.report.manifest import preprocessed_overrides
from mlib.training.train import run_folder

overrides = {**preprocessed_overrides(preprocessed), **overrides}  # the study's (or yours) win
cfg = config.resolve(profile, overrides)
if not cfg["run"]["cache"] or not cfg["run"]["split"]:
    raise ValueError(f"set overrides run.cache and run.split, or run notebook 01-preprocess first (no {preprocessed})")
run_dir = run_folder(cfg)

# %%
import json

import pandas as pd
from IPython.display import Markdown, display

from mlib.core import metrics
from mlib.plots import say, show, show_table
from mlib.plots import training as plots
from mlib.preprocess.cache_settings import read_cache_settings
from mlib.report import takeaways
from mlib.report.provenance import cache_banner
from mlib.report.results import both_intervals, provenance_note, test_rank1
from mlib.training.train import train

SOURCE = "notebooks/02-train.py"


cache, split = cfg["run"]["cache"], cfg["run"]["split"]
cache_dataset = read_cache_settings(cache).get("dataset")
if cache_dataset and cache_dataset != cfg["data"]["dataset"]:
    raise ValueError(f"{cache}: a {cache_dataset} cache, but data.dataset is {cfg['data']['dataset']!r}")
display(Markdown(cache_banner(cache)))

# %%
train(cfg, run_dir=run_dir, progress=False, log=False)
result = json.loads((run_dir / "metrics.json").read_text())
model, solver = cfg["model"], cfg["train"]
say(
    f"The model: SlowFast R{model['depth']}, alpha {model['alpha']}, beta 1/{model['beta_inv']}, "
    f"{model['frames']} frames x {model['size']} px; {solver['optimizer']} lr {solver['lr']}, "
    f"weight decay {solver['weight_decay']}, batch {solver['batch_size']}, {solver['epochs']} epochs, "
    f"seed {solver['seed']}. The evaluated checkpoint is epoch {result['checkpoint_epoch']} ({result['selection']})."
)
say(provenance_note([run_dir, cache, split], source=SOURCE))

# %% [markdown]
# ## Rank-1 accuracy (the paper's metric)
# Two 95 % intervals, side by side. The default one resamples the subjects,
# then the clips within each drawn subject (hierarchical bootstrap,
# `mlib.core.metrics.hierarchical_rank1_ci`): one person's clips share a face and a
# way of moving, so the subjects are what varies. The second resamples the
# clips as if they were independent (`mlib.core.metrics.bootstrap_rank1_ci`); it is
# narrower whenever subjects differ. Chance is the study's one chance level,
# the larger of one over the number of identities and the test set's majority
# rate (`mlib.core.metrics.chance_level`).

# %%
rows = []
for part in ("val", "test"):
    numbers = result[part]
    if numbers["n_clips"]:
        rows.append(
            {
                "part": part,
                "clips": numbers["n_clips"],
                "subjects": numbers["n_subjects"],
                "rank-1": round(numbers["rank1"], 4),
                **both_intervals(run_dir, part),
                "rank-5": round(numbers["rank5"], 4),
                "chance": round(numbers["chance"], 4),
            }
        )
show_table(pd.DataFrame(rows))
test_part = test_rank1(run_dir)  # the default interval: subjects, then clips
say(takeaways.versus_chance(test_part["rank1"], test_part["ci_low"], test_part["ci_high"], test_part["chance"]))
say(provenance_note([run_dir], source=SOURCE))

# %% [markdown]
# ## Learning curves
# Train accuracy is measured on the augmented training batches; the dashed
# line marks the checkpoint that was evaluated.

# %%
history = pd.read_csv(run_dir / "history.csv")
show(plots.learning_curves(history, result["checkpoint_epoch"]))
say(takeaways.learning_curve(history, result["checkpoint_epoch"]))
say(provenance_note([run_dir], source=SOURCE))

# %% [markdown]
# ## CMC curve, confusion matrix, per-subject accuracy (test clips)

# %%
predictions = run_dir / "predictions.csv"
test = metrics.read_predictions(predictions, "test")
curves = {"test": metrics.cmc_curve(test.y_true, test.proba, test.classes)}
val = metrics.read_predictions(predictions, "val")
if val.y_true:
    curves["validation"] = metrics.cmc_curve(val.y_true, val.proba, val.classes)
show(plots.cmc(curves, chance_classes=len(test.classes)))
say(takeaways.cmc(curves["test"]))
say(provenance_note([run_dir], source=SOURCE))

# %%
matrix = metrics.confusion(test.y_true, test.proba, test.classes)
show(plots.confusion(matrix, test.classes))
say(takeaways.confusion(matrix, test.classes))
say(provenance_note([run_dir], source=SOURCE))

# %%
per_subject = metrics.per_subject_accuracy(test.y_true, test.proba, test.classes)
show(plots.per_subject(per_subject, overall=result["test"]["rank1"]))
say(takeaways.per_subject(per_subject))
say(provenance_note([run_dir], source=SOURCE))
