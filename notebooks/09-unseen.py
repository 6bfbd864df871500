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
# # 9. People the network never saw
#
# The paper, and the pages before this one, ask a closed-set question: the test
# clips show the people the network was trained on, and it names one of them. A
# biometric system meets new people: it enrols them from a few clips, then
# verifies a claimed identity (one to one) or searches its gallery and may answer
# "unknown". This page reports that as the field does (ISO/IEC 19795-1):
#
# * **verification**: every probe clip against every enrolled person's template
#   (the mean of their enrolment clips' unit embeddings), scored by cosine
#   similarity; the ROC, the DET (both axes on the normal-deviate scale), the
#   equal error rate (EER, where false matches and false non-matches are equally
#   frequent) and the false-non-match rate at a false-match rate of 1 % and 10 %;
# * **open-set identification**: the detection-and-identification rate (DIR: the
#   probe's own person ranked first and above the threshold) at a false-positive
#   identification rate (FPIR: a never-enrolled person's best score above it) of
#   1 % and 10 %, and the closed-set rank-1 among the enrolled people.
# <!-- not results: 1 %, 10 % (the operating points: settings, mlib.openset.measures.FMR_TARGETS and FPIR_TARGETS) -->
#
# The embedding of a clip is what SlowFast's last layer sees (both pathways
# pooled and concatenated, `mlib.openset.scores`); the hand-crafted baselines
# (LGBP, LBP-TOP, FHOFO) give their feature vectors, standardised by the
# training people's clips. Every interval is a 95 % percentile interval that
# resamples the probe **people** (each drawn person brings all their probe
# clips). Measures are the mean over folds; the interval resamples people once
# for all folds and recomputes that mean (`mlib.openset.unseen`).
#
# **Where the unseen people come from.** On synthetic data no network is
# retrained for this page: the generator draws each person from streams keyed
# by their number, so people numbered after a corpus's own are new people of
# the same population, room and (motion-only) shared face. The runs of the
# controls page, trained on the corpus's own people, embed them. Folds rotate
# which unseen people are never enrolled and which clips enrol. On real data
# (the `full` profile) there are no new people to draw: each database, and
# their union, is cut into folds over subjects and every variant is trained on
# each fold's training subjects.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) or None for the defaults
overrides = {}  # dotted keys over the profile, e.g. {"unseen.people": 6}
corpora = None  # name -> {"cache", "split", "runs_dir", "overrides", "root", "mode"} (the controls page's, plus root,
#                 mode); real data: a corpus "union" has "union_of" (databases) instead of "cache"
out = "results/unseen"  # where unseen-measures.csv is written

# %%
from pathlib import Path

from myst_nb import glue

from mlib.core import config
from mlib.openset import unseen
from mlib.plots import rule_prose, say, show, show_table
from mlib.plots.openset import control_eer_figure, roc_det_figure
from mlib.report import takeaways
from mlib.report.results import provenance_note

SOURCE = "notebooks/09-unseen.py"
cfg = config.resolve(profile, overrides)
if not corpora:
    raise ValueError("set the parameter corpora: name -> {'cache', 'split', 'runs_dir', 'overrides', 'root', 'mode'}")
settings = cfg["unseen"]
if cfg["study"]["data"] == "synthetic":
    say(
        "**The numbers on this page are synthetic**: they come from generated faces, not from people, and say how "
        "the pipeline behaves, not how well micro-expressions identify anyone."
    )

# %% [markdown]
# ## Scoring the unseen people

# %%
table, corpus_sizes, curves = unseen.evaluate(cfg, corpora, out)
show_table(corpus_sizes[["corpus", "subjects", "clips", "first_subject", "folds"]])
say(unseen.scope(cfg, list(corpora)))
say(provenance_note([Path(out) / "unseen-corpora.csv"], source=SOURCE))

# %% [markdown]
# ## Verification: ROC and DET
#
# SlowFast (`clip`: the Table 1 configuration, unaltered input) against the
# hand-crafted baselines, on the same unseen people and folds; the curves pool
# the folds' verification pairs. On the DET, lower and further left is better;
# the dotted diagonal is where the EER is read.

# %%
identity = [name for name, corpus in corpora.items() if corpus["mode"] == "identity"]
for name in identity:
    show(roc_det_figure(curves, ["clip", *settings["features"]], name))
    say(takeaways.unseen_verification(table, name, lambda a, b, name=name: unseen.compare_eer(table, name, a, b)))
say(provenance_note([Path(out) / "unseen-measures.csv"], source=SOURCE))

# %% [markdown]
# ## The measures
#
# Each cell is the mean over folds with its 95 % interval (probe people
# resampled). EER and FNMR: lower is better; DIR and rank-1: higher is better.
# A fold has only a few never-enrolled people's probes, so DIR at an FPIR of
# 1 % is DIR at no false positive at all, and FNMR at an FMR of 1 % rests on
# the few highest impostor scores: read those columns with their intervals.

# %%
shown = unseen.shown_measures(table)
show_table(shown)
say(provenance_note([Path(out) / "unseen-measures.csv"], source=SOURCE))

# %% [markdown]
# ## Controls on unseen people: does the clip verify people better than one frame?
#
# The controls page's input variants (`clip`, `static-apex`: the apex repeated,
# `shuffled`: the frames out of order, `difference`: consecutive frame
# differences), each its own run trained on the corpus's own people, embed the
# unseen people; EER per variant and corpus. On the motion-only corpus every
# person has the same face, so one frame tells them apart only by the
# expression frozen in it; on the twins corpus the face names the pair, only
# movement the twin.

# %%
show(control_eer_figure(table))
verdicts = {name: unseen.clip_versus_frame(table, name) for name in corpora}
say(takeaways.unseen_controls(table, verdicts))
say(provenance_note([Path(out) / "unseen-measures.csv"], source=SOURCE))

# %% [markdown]
# The rule of the verdict:

# %%
say(rule_prose(unseen.compare_eer))

# %% tags=["remove-cell"]
for name, text in takeaways.unseen_headline(table, corpus_sizes).items():  # the model card's numbers
    glue(f"unseen-{name}", text, display=False)
glue("unseen-clip-vs-frame", takeaways.unseen_controls(table, verdicts), display=False)
