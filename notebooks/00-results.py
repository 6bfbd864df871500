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
# # Results: the paper's claims and this study's verdicts
#
# This page collects the study's results from the files its runs wrote and sets
# them beside the paper's claims and tables. Every number of ours below is read from a
# result file named in the table's last column; the paper's numbers come from
# `mlib.paper` and are labelled as the paper's. The pages after this one are the
# executed notebooks that made the result files.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) merged over mlib/defaults.yaml; None: the defaults
overrides = {}  # dotted settings over the profile, e.g. {"study.results": "results"}
study_file = None  # the manifest `mlib study` wrote; None: <study.results>/<profile name>/study.json

# %%
from pathlib import Path

from IPython.display import HTML, Markdown, display
from myst_nb import glue

from mlib.core import config
from mlib.plots import show_table, table_html
from mlib.report import claims, results, table2, table3
from mlib.report.manifest import StudyManifest
from mlib.report.provenance import data_banner
from mlib.study.runner import EXECUTED_DIR

cfg = config.resolve(profile, overrides)
if study_file is None:
    study_file = Path(cfg["study"]["results"]) / (Path(profile).stem if profile else "default") / "study.json"
study = StudyManifest.load(study_file)

# %%
display(
    Markdown(
        data_banner(study.synthetic, ", ".join(v.name for v in study.corpora))
        + f" Profile `{study.profile}`; manifest `{study_file}`."
    )
)

# %% [markdown]
# ## Claims and verdicts
#
# Each claim of the paper is asked two questions, never mixed, per corpus of
# this study. *Replication* (`question` "replication (our runs)"): does our
# evidence reproduce it? Computed from our runs only: reproduced, not
# reproduced, or cannot be tested on this data (an accuracy on synthetic faces
# cannot test one on real faces). *Protocol* ("protocol (the original's
# files)"): how the paper's number was obtained, as graded facts computed from
# the original code's published outputs. Every row comes from a named rule in
# `mlib.report.claims`, each of whose outcomes a test reaches from crafted evidence;
# the last column names the page that shows the evidence.

# %%
verdicts = claims.study_claims(study)
for key, value in claims.front_page_values(verdicts).items():
    glue(key, value, display=False)
front_page = claims.front_page_table(verdicts, claims.corpus_titles(study))  # links relative to book/
glue("verdict-table", HTML(front_page.to_html(index=False, escape=False)), display=False)
display(HTML(results.claims_html(claims.evidence_table(verdicts))))  # evidence pages as links, relative to this page

# %% [markdown]
# The study's result tables, metrics and per-clip predictions (no clips, no
# checkpoints, no images) are in one archive, linked from the front page; the
# folders below are where each corpus's results were written.

# %%
archived = results.write_archive(Path(study_file).parent, EXECUTED_DIR / "study-results.zip")
glue("archive-files", str(len(archived)), display=False)
glue("headline", results.headline(study), display=False)
glue("data-source", results.data_source(study), display=False)  # the prose pages' sentences on the data
glue("study-time", results.execution_time(study), display=False)
display(
    Markdown(
        "\n".join(
            f"- **{row['variant']}**: "
            + "; ".join(f"{key} `{value}`" for key, value in row.items() if key != "variant" and isinstance(value, str))
            for row in results.provenance(study).to_dict("records")
        )
    )
)

# %% [markdown]
# ## The paper's reported accuracies
#
# As the paper prints them, from `mlib.paper` (the one place they are typed).

# %%
from mlib import paper

for title, table in paper.reported_tables().items():
    display(Markdown(f"**{title}**"))
    show_table(table)

# %% [markdown]
# ## Tables 2 and 4: single models and the hand-crafted baseline
#
# For each database, the paper's single SlowFast (Table 2) and the paper's
# baseline (Saeed 2021, Table 4) beside ours: the paper's Table 1 configuration
# trained once, the grid's configuration chosen on validation, the grid's best
# *test* accuracy (the original code's rule: the test set chose it, so it is
# optimistic), the ensemble chosen on validation, and our re-implementation of
# the baseline's features with an SVM. Every interval of ours is a 95 %
# interval that resamples the test subjects, then the clips within each drawn
# subject (`mlib.core.metrics.hierarchical_rank1_ci`), the column header says so;
# over several split seeds it pools the seeds' resamples, so the spread between
# splits is part of it (`mlib.core.metrics.pooled_interval`, the method page). The
# clip-only interval stays beside it on the training page. Chance, where shown,
# is the larger of one over the number of subjects and the test set's majority
# rate (`mlib.core.metrics.chance_level`).

# %%
identity = [v.name for v in study.corpora if v.mode == "identity"]
for name in identity:
    display(Markdown(f"### {name}"))
    show_table(table2.beside_ours(study, name).drop(columns="result files"))
    paths = study.corpus(name).paths
    display(Markdown(results.provenance_note([paths["train"], *results.baseline_runs(paths.get("baseline", ""))])))

# %% [markdown]
# ## Table 3: two solvers and their vote
#
# The paper's SMIC experiment (Adam and AdamW with the same other settings,
# and the vote of the two) beside ours: every Adam/AdamW pair of the grid (on
# the first split), then the pair at the paper's Table 1 configuration over the
# profile's split seeds (`split.repeats`; the "split seeds" column says
# over how many, with their spread). With two members a majority vote can only
# agree or tie; the ensemble page says which tie rule decided.

# %%
for name in identity:
    display(Markdown(f"### {name}"))
    show_table(table3.beside_ours(study, name))

# %% [markdown]
# ## Beyond the paper: can movement alone identify a person?
#
# A face crop identifies a person by appearance alone, so a high accuracy on
# face clips does not show that the *micro-expression* carries identity, which
# is the paper's hypothesis. On synthetic data we can remove appearance: the
# motion-only corpus gives every subject one shared face, and subjects differ
# only in how they move; the twins corpus gives each small group of subjects
# one face. The same SlowFast configuration and the same baseline features are
# trained on every corpus. LGBP sees one frame (appearance only); LBP-TOP mixes
# appearance (its XY plane) with motion (its XT and YT planes); FHOFO sees
# motion only.
#
# A model at chance on a motion-only corpus says "the model does not use
# motion" only if something that sees only motion identifies the subjects
# there. The positive controls first: the truth-parameter control (the
# generator's own movement parameters, the best any model can do from
# movement) and the motion-only features, beside the SlowFast run. The input
# controls, which run on real data too, are on the page
# [What carries identity?](07-controls.ipynb).

# %%
learnable = results.learnable_table(study)  # the positive controls (issue 10), also glued into the data page
glue("learnable-table", HTML(table_html(learnable)), display=False)
show_table(learnable, empty_note="– : the truth-parameter control has one rank-1 per split seed and no interval here.")

# %% [markdown]
# The Table 1 configuration and every baseline feature set on each corpus:

# %%
motion = results.motion_only_table(study)
if motion.empty:
    display(Markdown("No motion-only corpus in this profile (real data has none)."))
else:
    show_table(motion.drop(columns="result files"))
    display(Markdown(results.provenance_note(motion["result files"])))

# %% [markdown]
# ## Grad-CAM: does the network look where the face moves?
#
# The paper shows Grad-CAM pictures (its Figure 2) as evidence that the
# network attends to the micro-movement. Here that claim is measured on every
# test clip: how much more of the map's mass falls on the moving pixels and
# frames than a uniform map would put there (a lift of 1 means no better than
# uniform). On synthetic data the moving regions are known from the generator.

# %%
for name in identity:
    display(Markdown(f"### {name}"))
    cams = results.gradcam_table(study, name)
    if cams.empty:
        display(Markdown("No Grad-CAM scores for this database."))
    else:
        show_table(cams)
