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
# One run of `mlib train` (the function `mlib.train.train`) on a prepared clip
# cache and split file: SlowFast on the 64-frame face windows, trained to name
# the subject (closed-set identification), selected on the validation part when
# the split has one, and evaluated once on the held-out test part. In this code
# **alpha** is SlowFast's frame-rate ratio (the Slow pathway sees every alpha-th
# frame of the Fast one) and **beta** its channel ratio (the Fast pathway has
# 1/beta_inv of the Slow pathway's channels), whatever the paper's looser wording.
# Rerunning the notebook with the same parameters reuses the finished run folder.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/mlib-study/micro-expression-person-recognition"], check=True)

# %% tags=["parameters"]
dataset = "casme2"
cache = None  # a prepared cache folder (mlib prepare); required
split = None  # a split CSV (mlib split); required
profile = None  # optional profile YAML merged over mlib/defaults.yaml first
alpha = 4
beta_inv = 8
depth = 18
optimizer = "adam"
lr = 0.001
batch_size = 16
epochs = 30
seed = 0
size = 112
frames = 64
device = "auto"
runs_dir = None  # parent of run folders; None = the profile's run.out (runs/)
out = None  # the run folder; None = runs_dir/<a hash of the settings>

# %%
import json

import pandas as pd
from IPython.display import display

from mlib.plots import show

from mlib import metrics
from mlib.data import cache_is_synthetic, read_cache_settings
from mlib.plots import training as plots
from mlib.train import configure_run, train



if cache is None or split is None:
    raise ValueError("set the parameters cache and split (run notebook 01-preprocess first)")
cfg = configure_run(profile, cache=cache, split=split, runs_dir=runs_dir, alpha=alpha, beta_inv=beta_inv,
                    depth=depth, size=size, frames=frames, optimizer=optimizer, lr=lr, batch_size=batch_size,
                    epochs=epochs, seed=seed, device=device)
cache_dataset = read_cache_settings(cache).get("dataset")
if cache_dataset and cache_dataset != dataset:
    raise ValueError(f"{cache}: a {cache_dataset} cache, but dataset={dataset!r}")
synthetic = cache_is_synthetic(cache)
print({True: "SYNTHETIC data (drawn faces, no real person): the numbers test the pipeline, not the paper.",
       False: f"REAL data: the {dataset} database.",
       None: "Data origin unknown (the cache's root is not available here)."}[synthetic])

# %%
run_dir = train(cfg, run_dir=out, progress=False)
result = json.loads((run_dir / "metrics.json").read_text())
print(f"run folder: {run_dir}")
print(f"config: {run_dir / 'config.yaml'}  (profile {profile or 'none'}; cache {cache}; split {split})")
print(f"model: SlowFast R{depth}, alpha {alpha}, beta 1/{beta_inv}, {frames} frames x {size} px; "
      f"{optimizer} lr {lr}, batch {batch_size}, {epochs} epochs, seed {seed}")
print(f"checkpoint: epoch {result['checkpoint_epoch']} ({result['selection']})")

# %% [markdown]
# ## Rank-1 accuracy (the paper's metric)
# The 95 % interval resamples the test clips (bootstrap); chance is one over the
# number of identities.

# %%
rows = []
for part in ("val", "test"):
    numbers = result[part]
    if numbers["n_clips"]:
        low, high = numbers["rank1_ci95"]
        rows.append({"part": part, "clips": numbers["n_clips"], "subjects": numbers["n_subjects"],
                     "rank-1": round(numbers["rank1"], 4), "95 % CI": f"{low:.3f}-{high:.3f}",
                     "rank-5": round(numbers["rank5"], 4), "chance": round(numbers["chance"], 4)})
display(pd.DataFrame(rows).set_index("part"))

# %% [markdown]
# ## Learning curves
# Train accuracy is measured on the augmented training batches; the dashed
# line marks the checkpoint that was evaluated.

# %%
history = pd.read_csv(run_dir / "history.csv")
show(plots.learning_curves(history, result["checkpoint_epoch"]))

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

# %%
show(plots.confusion(metrics.confusion(test.y_true, test.proba, test.classes), test.classes))

# %%
per_subject = metrics.per_subject_accuracy(test.y_true, test.proba, test.classes)
show(plots.per_subject(per_subject, overall=result["test"]["rank1"]))
