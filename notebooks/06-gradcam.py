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
# # 6. Where and when the network looks: Grad-CAM, measured
#
# The paper (section 4.6, Figure 2) shows Grad-CAM heat maps on a few frames and
# says the network "has learned significant features from regions while
# micro-expressions occurred". It gives no number. Here the same maps
# (the `grad-cam` package, target layers = the last residual stage of each
# SlowFast pathway, one map per pathway, resized to the input's frames and
# pixels) are computed for every test clip of one trained run and scored:
#
# * **motion**: the share of the CAM's mass inside the 10 % of pixels with the
#   most motion energy (mean absolute difference of consecutive input frames),
# * **apex**: the share of its mass in the frames within ±T/8 of the apex,
# * on the synthetic corpus, **truth**: the share inside the face regions that
#   the generator actually moved, and **truth_time**: in the frames where the
#   generator's movement is at least half its peak.
#
# Each share is compared with what a uniform map would give (the region's area
# share times its time share); **lift** = share / uniform, so 1 means "no more
# than chance" and the paper's claim predicts a lift well above 1.
#
# <!-- not results: 10 (a setting: the motion region's share of pixels) -->

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) merged over mlib/defaults.yaml; None: the defaults
overrides = {}  # dotted settings over the profile: run.cache (None: the run's own cache), gradcam.clips,
# gradcam.target, gradcam.pathway, study.publish_faces, train.device and train.batch_size
run = None  # a finished run folder; None: notebook 02-train's run on notebook 01's cache and split
preprocessed = "figures/01-preprocess/data.json"  # notebook 01's record, read when run is None
out = None  # result folder; None: <run>/gradcam-test-<target>
private_dir = "private/gradcam"  # git-ignored folder for figures that show real faces

# %%
from pathlib import Path

from mlib.core import config
from mlib.report.manifest import preprocessed_overrides
from mlib.training.train import run_folder

cfg = config.resolve(profile, overrides)
if run is None:  # the run notebook 02 trained with the same profile and overrides
    chained = preprocessed_overrides(preprocessed)
    if not chained:
        raise ValueError(
            f"set the parameter run to a finished run folder, or run notebooks 01 and 02 first (no {preprocessed})"
        )
    run = run_folder(config.resolve(profile, {**chained, **overrides}))
if not (Path(run) / "metrics.json").is_file():
    raise ValueError(f"{run}: not a finished run folder; set the parameter run (notebook 02-train makes one)")
cache = cfg["run"]["cache"]
clips = cfg["gradcam"]["clips"]  # clips drawn as figures: a number (the first test clips) or clip_keys
target, pathway = cfg["gradcam"]["target"], cfg["gradcam"]["pathway"]
publish_faces = cfg["study"]["publish_faces"]  # only where the database licence allows it for that subject
device, batch_size = cfg["train"]["device"], cfg["train"]["batch_size"]

# %%
import json
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

from mlib import gradcam as gc
from mlib.plots import gradcam as plots
from mlib.plots import say, show, show_table
from mlib.report import takeaways
from mlib.report.provenance import data_banner
from mlib.report.results import provenance_note

SOURCE = "notebooks/06-gradcam.py"


result = gc.gradcam_for_run(
    run,
    cache,
    part="test",
    target=target,
    pathway=pathway,
    batch_size=batch_size,
    device=device,
    out=out,
    progress=False,
)
faces_shown = result.synthetic or publish_faces
test_metrics = json.loads((result.run_dir / "metrics.json").read_text())["test"]
say(
    f"{len(result.clips)} test clips, CAM target: the {target} identity, pathways: {', '.join(result.pathways)}. "
    + takeaways.versus_chance(
        test_metrics["rank1"], *test_metrics["rank1_ci95"], test_metrics["chance"], what="The run's test rank-1"
    )
    + " The maps of a model near chance say little about what identifies a person."
)
say(provenance_note([result.run_dir, result.cache, result.out], source=SOURCE))
display(
    Markdown(
        data_banner(result.synthetic, cfg["data"]["dataset"])
        + (
            " The generator's true moving regions are known and scored."
            if result.synthetic
            else " No ground truth for the moving regions; figures with faces are written to "
            f"{'the result folder (study.publish_faces)' if publish_faces else private_dir} and not shown here."
        )
    )
)

# %% [markdown]
# ## The scores over all test clips
# Median and quartiles per pathway; `above_uniform` is the share of clips whose
# lift exceeds 1.

# %%
summary, null = gc.summarize(result.scores), gc.null_summary(result.scores)
show_table(summary.round(3))
show(plots.plot_score_histogram(result))
for pathway in result.pathways:
    say(
        takeaways.gradcam_claim(
            gc.claim_verdict(null, pathway, result.synthetic),
            pathway,
            "the regions the generator moved" if result.synthetic else "the most moving pixels",
        )
    )
say(provenance_note([result.run_dir, result.out], source=SOURCE))

# %% [markdown]
# ## Against a null that accounts for the maps' biases
# Grad-CAM maps lean toward the centre of the face and of the window, where the
# apex and most movement sit too, so a lift above 1 against a uniform map is
# expected without any attention to motion. The permutation null scores each
# clip's CAM against the OTHER test clips' regions (same run, same window
# placement): `lift_vs_null` = 1 means the map finds its own clip's movement no
# better than anyone else's. Medians over clips with 95 % bootstrap intervals.

# %%
show_table(null.round(3))
say(provenance_note([result.run_dir, result.out], source=SOURCE))

# %% [markdown]
# ## The mean map over all test clips
# Face crops are aligned by the face detector, so the mean CAM shows where the
# network looks on average, beside the mean motion energy (and, on synthetic
# data, how often each pixel belongs to a truly moving region).

# %%
mean_face = None
if faces_shown:
    mean_face = result.frames().mean(axis=(0, 1)).astype(np.uint8)
show(plots.plot_mean_maps(result, mean_face))
say(takeaways.mean_map_agreement(result.cams, result.motion_maps))
say(provenance_note([result.run_dir, result.out], source=SOURCE))

# %% [markdown]
# ## Single clips: frames with the CAM overlaid, and the CAM's energy over time
# Onset, apex and offset are the annotation's frames mapped into the model's
# input. The animated GIFs of the whole windows are written beside the figures.

# %%
keys = list(result.clips["clip_key"])
chosen = keys[:clips] if isinstance(clips, int) else list(clips)
private = Path(private_dir) / result.run_dir.name
written = plots.write_figures(result, chosen, publish_faces=publish_faces, private_dir=private)
frames = result.frames(chosen)
for position, key in enumerate(chosen):
    index = keys.index(key)
    show(plots.plot_energy(result, index))
    if faces_shown:
        show(plots.plot_strip(result, index, frames[position]))
say(f"{len(written)} figure files written (clips {', '.join(map(str, chosen))}).")
say(provenance_note([result.run_dir, result.out], source=SOURCE))

# %% [markdown]
# ## The paper's claim against the measurement
#
# Per pathway, judged against the permutation null above, not against a uniform
# map (a map that always looks at the centre beats a uniform one without seeing
# any movement): the claim is supported when the 95 % interval of the median
# lift over the null lies above 1 (`mlib.gradcam.claim_verdict`). The front
# page's replication verdict reads the fast pathway, the one the paper says
# captures motion (`mlib.report.claims.CLAIM_PATHWAY`).

# %%
region_words = "the regions the generator moved" if result.synthetic else f"the {gc.TOP_PERCENT:g} % most moving pixels"
for name in result.pathways:
    say(takeaways.gradcam_claim(gc.claim_verdict(null, name, result.synthetic), name, region_words))
if result.synthetic:
    missed = result.clips[result.clips["truth_inside_crop"] < 0.5]
    say(
        f"{len(missed)} of {len(result.clips)} clips have most of their true movement OUTSIDE the cached face crop "
        f"(the face detector boxed something else; their truth scores are empty)"
        + (f": {', '.join(missed['clip_key'])}." if len(missed) else ".")
    )
    say(
        f"Motion energy vs the true moving region: median IoU "
        f"{gc.summary_value(summary, result.pathways[0], 'motion_truth_iou'):.2f} (how well 'where it moves' finds the truth)."
    )
say(
    f"The paper shows a few hand-picked frames and no measurement; these numbers cover all "
    f"{len(result.clips)} test clips of run `{result.run_dir.name}`."
)
