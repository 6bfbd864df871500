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
# # 7. What carries identity?
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
# Each point is the test rank-1 with its 95 % interval, resampling the test
# subjects, then the clips within each; with several split seeds, the mean
# rank-1 over seeds and one interval from the seeds' resamples pooled
# (`mlib.experiments.controls.summarize`). The dotted line is chance, the larger of one
# over the number of subjects and the test set's majority rate
# (`mlib.core.metrics.chance_level`); the dashed one the rate of always answering
# the most frequent training subject.
# The verdict under each panel comes from `mlib.experiments.controls.motion_verdict`, whose
# rule is printed below: a variant *identifies* when its interval's lower bound
# is above both lines; a negative result is read against the positive control
# (a classifier that sees only motion on the same corpus) when one is given.
#
# On synthetic data the corpora are the identity corpus (each subject its own
# face), the motion-only corpus (one face for all) and the twins corpus (pairs
# share a face, so only movement tells twins apart). The positive control is
# the truth-parameter classifier (`mlib.experiments.positive_controls.truth_control`): linear
# discriminant analysis on the generator's own movement parameters of each
# clip, on the same split protocol and seeds, which no model of the frames can
# beat. Real databases have no generator truth, so they have no positive
# control: there a model at chance cannot be told from a corpus whose movement
# carries no identity, and the verdict says so.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) or None for the defaults
overrides = {}  # dotted keys over the profile, e.g. {"train.epochs": 1}
corpora = None  # name -> {"cache": folder, "split": file or [files], "runs_dir": folder, "positive_control": accuracy}
variants = None  # the input variants to train (None: the profile's controls.variants)
out = "results/controls"  # where controls.csv is written
motion_features_dir = (
    None  # synthetic data: where the knob table's motion-only corpora are written (None: not measured)
)

# %%
from IPython.display import HTML
from myst_nb import glue

from mlib.core import config
from mlib.experiments import budget, controls, positive_controls
from mlib.plots import rule_prose, say, show, show_table, table_html
from mlib.plots.controls import controls_figure
from mlib.study import runner as study

cfg = config.resolve(profile, overrides)
if not corpora:
    raise ValueError("set the parameter corpora: name -> {'cache': ..., 'split': ..., 'runs_dir': ...}")
variants = variants or study.control_variants(cfg)

# %%
from pathlib import Path

from mlib.report import takeaways
from mlib.report.results import provenance_note

SOURCE = "notebooks/07-controls.py"


say(
    study.controls_scope(cfg)
    if variants == cfg["controls"]["variants"]
    else f"Variants trained: {', '.join(variants)}."
)

# %% [markdown]
# ## Training (or reusing) one run per corpus and variant

# %%
table = controls.run_controls(cfg, corpora, out, variants=variants, log=False)
summary = controls.summarize(table)
found = controls.verdicts(summary, budget.published_learns(cfg))  # the budget study of page 10, when published
say(f"{len(table)} runs, {cfg['train']['epochs']} epochs each.")
say(provenance_note([Path(out) / "controls.csv"], source=SOURCE))

# %% [markdown]
# ## Rank-1 per input variant

# %%
show(controls_figure(summary, found))
say(takeaways.controls(found))
say(provenance_note(table["run_dir"], source=SOURCE))
show_table(controls.shown_summary(summary))
say(provenance_note([Path(out) / "controls.csv"], source=SOURCE))

# %% [markdown]
# ## The positive controls
#
# What each corpus makes learnable from movement alone: the truth-parameter
# control's test rank-1 (mean over split seeds). A corpus without one is real
# data, or a corpus given by hand without its generator truth.

# %%
for name, corpus in corpora.items():
    value = corpus.get("positive_control")
    say(
        f"Positive control on {name}: "
        + (
            f"truth-parameter rank-1 {value:.3f}."
            if value is not None
            else "none (no generator truth: a negative result here cannot be read)."
        )
    )

# %% [markdown]
# What the generator makes learnable as its movement-identity knob
# (`synth.motion_identity`: 0 = clips do not follow their subject's habits, 1 =
# fully) goes from 0 to 1, at this profile's corpus size, split and seeds: the
# truth control computed from the generator's clip specifications alone (no
# frame rendered), and, in the `motion-only <feature set>` columns, the
# hand-crafted baseline on motion features (FHOFO: flow orientations; LBP-TOP's
# XT and YT planes) of motion-only corpora rendered at each value, on the first
# split (`mlib.experiments.positive_controls.measure`): what the pixels let a motion
# descriptor read. The study's corpora use the value in the caption. Real data
# has no knob; this table is shown for synthetic studies only.

# %%
if cfg["study"]["data"] == "synthetic":
    knob = positive_controls.learnable(cfg)
    features = (
        positive_controls.measure(cfg, motion_features_dir, modes=("motion-only",)) if motion_features_dir else None
    )
    say(f"The study's corpora: `synth.motion_identity` = {cfg['synth']['motion_identity']}.")
    knob = positive_controls.knob_table(knob, features).round(3)
    show_table(knob)
    glue("knob-table", HTML(table_html(knob)), display=False)  # shown on the data page too
    say(
        provenance_note(
            [],
            source=SOURCE,
            inputs=["the generator's clip specifications (no run folder)"]
            + (
                [f"the motion-only corpora and baseline runs under {motion_features_dir}"]
                if features is not None
                else []
            ),
        )
    )
else:
    say("Real data: no generator, no knob.")

# %% [markdown]
# ## Twins within their face group
#
# On the twins corpus the subjects of a group share one face, so appearance
# alone already finds the group and the overall rank-1 mixes face and
# movement. Restricted to the subjects of each clip's own group, only
# movement can tell them apart; that rank-1 is read against its own chance,
# one over the group's size (`mlib.experiments.positive_controls.twins_table`,
# `mlib.core.metrics.within_group_hits`).

# %%
twins = positive_controls.twins_table(table, corpora)
if not twins.empty:
    show_table(controls.shown_twins(twins))
say(takeaways.twins_within(twins))
say(provenance_note(table.loc[table["corpus"].isin(twins["corpus"]), "run_dir"], source=SOURCE))

# %% [markdown]
# ## The verdict and its rule

# %%
say(rule_prose(controls.motion_verdict))
show_table(controls.shown_verdicts(found))
say(takeaways.controls(found))
say(provenance_note([Path(out) / "controls.csv"], source=SOURCE))
