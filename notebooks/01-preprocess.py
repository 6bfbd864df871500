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
#
# **Is this data synthetic?** By default, yes: with `synth = True` and no
# annotation spreadsheet at `root`, the notebook writes the synthetic corpus of
# `mlib synth` (drawn faces, no real person) and uses it. The cell below the
# parameters states which kind of data this particular run used.

# %% tags=["remove-cell"]
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: install the project first
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/mlib-study/micro-expression-person-recognition"], check=True)

# %% tags=["parameters"]
dataset = "casme2"
root = "data/synthetic/casme2"
apex_rule = "annotated"  # annotated | midpoint (SMIC always uses the midpoint)
cropped = False  # the database's already-cropped release: no face detection
cache_dir = "cache"
face_size = None  # None: the paper's size per database (SMIC 150, CASME II 300, SAMM 400)
window = 64
margin = 0.15
protocol = "half"
test_size = 0.5
seed = 42
val_size = 0.1
synth = True  # (re)write the synthetic corpus at root first: a no-op when it holds these settings; refuses a real root
synth_settings = {}  # overrides of the defaults tree's synth section (e.g. {"subjects": 4})
workers = 2
show_real_frames = False  # real databases are under EULA: their frames are drawn only when allowed
out_dir = "figures/01-preprocess"

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mlib import config
from mlib.datasets import load_dataset, validation_report
from mlib.io import atomic_path
from mlib.plots.data import crop_montage, split_parts, window_timeline
from mlib.preprocess import load_index, prepare_cache
from mlib.splits import load_split, split_counts, write_splits

out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)


def save(fig, name):
    """Write a figure atomically beside the other outputs of this notebook."""
    with atomic_path(out / name) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return fig


# %%
from mlib.data import root_is_synthetic
from mlib.synth.layouts import write_configured_corpus

if synth:
    synth_cfg = config.resolve(overrides={"synth": dict(synth_settings)})["synth"]
    write_configured_corpus(root, dataset, synth_cfg, workers=workers, progress=False)
synthetic = root_is_synthetic(root)
display(Markdown(
    f"**Data: {'SYNTHETIC' if synthetic else 'REAL'}.** `{root}` "
    + ("was written by `mlib synth`: drawn faces, no real person." if synthetic
       else "is a real database root (licensed; its frames are biometric data).")
))

# %% [markdown]
# ## Validate: what the loader found
#
# `load_dataset` reads the annotation spreadsheet and the frame folders; clips
# with errors are listed and left out of the cache.

# %%
loaded = load_dataset(dataset, root, apex_rule=apex_rule, cropped=cropped)
print(validation_report(loaded))
error_keys = {p.clip_key for p in loaded.problems if p.severity == "error" and p.clip_key}
clips = loaded.clips[~loaded.clips["clip_key"].isin(error_keys)].reset_index(drop=True)
per_subject = clips.groupby("subject").agg(clips=("clip_key", "size"), frames=("frames", lambda f: int(sum(map(len, f)))))
per_subject

# %% [markdown]
# ## Prepare: crop, window, cache
#
# Rerunning with the same settings finds the cache complete and does nothing.

# %%
cache = prepare_cache(clips, cache_dir, dataset=dataset, root=root, window=window, face_size=face_size,
                      margin=margin, cropped=cropped, apex_rule=apex_rule, workers=workers, progress=False)
index = load_index(cache)
print(cache)
index["detector"].value_counts().rename("clips").to_frame()

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
if synthetic or show_real_frames:
    save(crop_montage(by_key.loc[example["clip_key"]], example), "crop-montage.png")
    plt.show()
else:
    print("Real frames are not drawn (show_real_frames = False): database EULAs restrict publishing them.")

# %% [markdown]
# ## The window on the clip's timeline
#
# Onset..offset, the apex, the frames the window uses and the padding (the
# first/last real frame repeated) for the same clip.

# %%
save(window_timeline(by_key.loc[example["clip_key"]], example), "window-timeline.png")
plt.show()
index[["pad_before", "pad_after"]].gt(0).any(axis=1).value_counts().rename("clips").rename_axis("padded").to_frame()

# %% [markdown]
# ## Split
#
# The split file of the chosen protocol; subjects with a single clip are
# excluded (they cannot be both trained and tested on).

# %%
split_file = write_splits(cache, protocol, test_size=test_size, val_size=val_size, seed=seed)[0]
split = load_split(split_file)
print(split_file)
excluded = sorted(set(split.loc[split["part"] == "excluded", "subject"]))
print("excluded subjects:", ", ".join(excluded) if excluded else "none")
save(split_parts(split), "split-parts.png")
plt.show()
split_counts(split)

# %% [markdown]
# ## What the next steps read
#
# The cache folder and split file are recorded in `data.json` beside the
# figures; the study runner hands them to the training, grid, baseline and
# Grad-CAM notebooks.

# %%
from mlib.io import write_json

write_json(out / "data.json", {"cache": str(cache), "split": str(split_file), "synthetic": synthetic,
                                "dataset": dataset, "root": str(root)})
