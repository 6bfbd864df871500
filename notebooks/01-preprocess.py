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
# # 1. Preprocessing: faces, apex windows and splits
#
# This notebook turns a database root into the clip cache and the split file
# that every training run reads (`book/formats.md` sections 3 and 4). As in
# the paper and its original code, the face is detected once per clip (OpenCV
# Haar cascade on the first frame of the window) and that box crops all 64
# frames of a window centred on the apex; short clips are padded by repeating
# their first and last frames. The work is done by `mlib` (`mlib validate`,
# `mlib prepare`, `mlib split` run the same functions); this notebook only
# shows what came out.
# <!-- not results: 64 (the window length in frames, a setting) -->
#
# **Is this data synthetic?** By default, yes: when the configuration's
# `study.data` is `synthetic`, the notebook writes the synthetic corpus of
# `mlib synth` (drawn faces, no real person) at `data.root` and uses it. The
# cell below the configuration states which kind of data this run used.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    REPOSITORY = "git+https://github.com/mlib-study/micro-expression-person-recognition"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPOSITORY], check=True)

# %% tags=["parameters"]
profile = None  # a profile YAML (configs/profiles/*.yaml) merged over mlib/defaults.yaml; None: the defaults
overrides = {}  # dotted settings over the profile, e.g. {"data.dataset": "samm", "data.root": "data/synthetic/samm"}
out_dir = "figures/01-preprocess"  # this page's figures, and data.json naming the cache and split it made

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from mlib.core import config
from mlib.core.io import atomic_path, write_json
from mlib.datasets import load_dataset, validation_report
from mlib.plots import say, show_table
from mlib.plots.data import crop_montage, split_parts, window_timeline
from mlib.preprocess import load_index, prepare_cache
from mlib.preprocess.cache import prepare_settings
from mlib.preprocess.cache_settings import root_is_synthetic
from mlib.preprocess.splits import load_split, load_split_metadata, original_inventory_note, split_counts, write_splits
from mlib.report import takeaways
from mlib.report.provenance import data_banner
from mlib.report.results import provenance_note
from mlib.synth.layouts import write_configured_corpus

cfg = config.resolve(profile, overrides)
data, prepare, splitting = cfg["data"], cfg["prepare"], cfg["split"]
dataset, root = data["dataset"], data["root"]

# %%
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
SOURCE = "notebooks/01-preprocess.py"


def save(fig, name):
    """Write a figure atomically beside the other outputs of this notebook."""
    with atomic_path(out / name) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return fig


if cfg["study"]["data"] == "synthetic":  # a no-op when the root holds these settings; refuses a real root
    write_configured_corpus(root, dataset, cfg["synth"], workers=prepare["workers"], progress=False)
synthetic = root_is_synthetic(root)
say(data_banner(synthetic, dataset))
say(provenance_note([root], source=SOURCE))

# %% [markdown]
# ## Validate: what the loader found
#
# `load_dataset` reads the annotation spreadsheet and the frame folders; rows
# and clips with errors are listed and already left out of its clip table, which
# is what `mlib prepare` caches too (a duplicated row is dropped, the first kept).

# %%
loaded = load_dataset(dataset, root, apex_rule=data["apex_rule"], cropped=data["cropped"])
say("\n".join(f"- {line.strip()}" for line in validation_report(loaded).splitlines()[1:]))  # line 1: the root
clips = loaded.clips
per_subject = clips.groupby("subject").agg(
    clips=("clip_key", "size"), frames=("frames", lambda f: int(sum(map(len, f))))
)
show_table(per_subject.reset_index())
say(takeaways.dataset_size(clips))
say(provenance_note([root], source=SOURCE))

# %% [markdown]
# ## Prepare: crop, window, cache
#
# Rerunning with the same settings finds the cache complete and does nothing.

# %%
cache = prepare_cache(clips, prepare["cache_dir"], **prepare_settings(cfg), progress=False)
index = load_index(cache)
show_table(index["detector"].value_counts().rename("clips").rename_axis("detector").reset_index())
say(takeaways.detector(index))
say(provenance_note([cache], source=SOURCE))

# %% [markdown]
# ## The crop box on the original frames
#
# One clip's onset, apex and offset frames as stored in the database, with
# the box found on the window's first frame (margin included). The same box
# crops every frame of the window.

# %%
by_key = clips.set_index("clip_key", drop=False)
padded = index[(index["pad_before"] + index["pad_after"]) > 0]
example = (padded if len(padded) else index).iloc[0]
if synthetic or cfg["study"]["publish_faces"]:
    save(crop_montage(by_key.loc[example["clip_key"]], example), "crop-montage.png")
    plt.show()
    say(f"Clip `{example['clip_key']}`: the box found on the window's first frame crops every frame.")
    say(provenance_note([cache], source=SOURCE))
else:
    say("Real frames are not drawn (`study.publish_faces` is false): database EULAs restrict publishing them.")

# %% [markdown]
# ## The window on the clip's timeline
#
# Onset..offset, the apex, the frames the window uses and the padding (the
# first/last real frame repeated) for the same clip.

# %%
save(window_timeline(by_key.loc[example["clip_key"]], example), "window-timeline.png")
plt.show()
show_table(
    index[["pad_before", "pad_after"]]
    .gt(0)
    .any(axis=1)
    .value_counts()
    .rename("clips")
    .rename_axis("padded")
    .reset_index()
)
say(takeaways.padding(index))
say(provenance_note([cache], source=SOURCE))

# %% [markdown]
# ## Split
#
# The split file of the chosen protocol; subjects with a single clip are
# excluded (they cannot be both trained and tested on). With `kay2023-original`
# the page also says how many of the original's listed clips were used, which
# clips the lists lack (part `unlisted`, never used) and which are missing.

# %%
split_file = write_splits(
    cache,
    splitting["protocol"],
    test_size=splitting["test_size"],
    val_size=splitting["val_size"],
    seed=splitting["seed"],
)[0]
split = load_split(split_file)
excluded = sorted(set(split.loc[split["part"] == "excluded", "subject"]))
save(split_parts(split), "split-parts.png")
plt.show()
show_table(split_counts(split).rename_axis("part").reset_index())
say(takeaways.split_sizes(split) + (f" Excluded: {', '.join(excluded)}." if excluded else ""))
if splitting["protocol"] == "kay2023-original":  # listed / used / unlisted / missing clips of the original's list
    say(original_inventory_note(load_split_metadata(split_file)))
say(provenance_note([cache, split_file], source=SOURCE))

# %% [markdown]
# ## What the next steps read
#
# The cache folder and split file are recorded in `data.json` beside the
# figures; the study runner hands them to the training, grid, baseline and
# Grad-CAM notebooks.

# %%
write_json(
    out / "data.json",
    {"cache": str(cache), "split": str(split_file), "synthetic": synthetic, "dataset": dataset, "root": str(root)},
)
