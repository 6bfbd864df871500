"""Synthetic corpora with a real database's clip inventory: names, counts, and the original split on them.

Rendering a paper-size corpus takes minutes on CI's cores, so the written
corpora here keep every clip's name and annotation but only three frames per
clip (a stand-in renderer); the generator's own specs are checked without
rendering.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlib.core.config import resolve
from mlib.datasets import load_dataset
from mlib.preprocess import splits
from mlib.preprocess.splits import accuracy_ceiling, make_split, split_counts, untrained_test_subjects
from mlib.synth import SynthClip, inventory, layouts

ORIGINAL = {  # subjects and clips of the coding sheet, train/val/test of the original's split files
    "casme2": (26, 255, (101, 26, 127)),
    "samm": (29, 159, (60, 16, 77)),
    "smic": (16, 164, (62, 16, 79)),
}
UNLISTED = {  # the sheet rows the original's list lacks (adapter subject ids)
    "casme2": ["04/EP12_01f"],
    "samm": ["023/023_1_1", "024/024_1_1", "028/028_4_1", "031/031_1_1", "032/032_3_1", "036/036_1_1"],
    "smic": [
        "01/s1_ne_02",
        "03/s3_ne_03",
        "03/s3_ne_20",
        "04/s4_ne_05",
        "04/s4_ne_06",
        "09/s9_sur_02",
        "20/s20_sur_06",
    ],
}
TINY = resolve(None, {"synth": {"subjects": 3, "clips_per_subject": 2, "frame_size": [48, 48]}})["synth"]


def generated(monkeypatch, layout: str, setting: str) -> dict:
    """What ``write_configured_corpus`` hands the writer (specs, names, settings), without rendering."""
    seen = {}
    monkeypatch.setattr(layouts, "write_corpus", lambda root, lay, specs, **kw: seen.update(specs=specs, **kw))
    layouts.write_configured_corpus("unused", layout, {**TINY, "inventory": setting}, progress=False)
    return seen


def three_frames(spec):
    """A stand-in renderer: three grey frames, the movement on the middle one."""
    frames = np.full((3, *spec.frame_size, 3), 128, np.uint8)
    return SynthClip(
        spec,
        frames,
        np.zeros(spec.frame_size, bool),
        np.array([0, 1, 0], np.float32),
        (0, 0, spec.frame_size[1], spec.frame_size[0]),
        spec.regions,
        spec.emotion,
        spec.action_units,
    )


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_generator_writes_the_sheets_subjects_clip_names_and_counts(monkeypatch, layout):
    seen = generated(monkeypatch, layout, "original")
    subjects, clips, _ = ORIGINAL[layout]
    listed = splits.original_split_list(layout)
    written = sorted(seen["names"][(s.subject, s.index)] for s in seen["specs"])
    assert len(seen["specs"]) == clips and len({s for s, _ in written}) == subjects
    unlisted = sorted(set(written) - set(zip(listed["subject"], listed["clip"])))
    assert [f"{s}/{c}" for s, c in unlisted] == UNLISTED[layout] and len(written) - len(unlisted) == len(listed)
    assert seen["settings"]["inventory"] == layout and seen["settings"]["single_clip_subjects"] == 0
    assert len({(s.n_frames, s.onset, s.apex, s.offset) for s in seen["specs"]}) > clips // 2  # timings stay synthetic


def test_no_inventory_keeps_the_settings_counts_and_the_layouts_names(monkeypatch):
    seen = generated(monkeypatch, "casme2", "none")
    assert len(seen["specs"]) == 3 * 2 + 1 and seen["names"] is None and "inventory" not in seen["settings"]


@pytest.mark.parametrize("setting, message", [("samm", "needs the samm layout"), ("mmew", "expected one of")])
def test_an_inventory_that_does_not_fit_the_layout_is_refused(setting, message):
    with pytest.raises(ValueError, match=message):
        inventory.inventory_name(setting, "casme2")


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_original_split_on_a_written_inventory_corpus_gives_the_original_assignment(monkeypatch, tmp_path, layout):
    seen = generated(monkeypatch, layout, "original")
    monkeypatch.undo()
    short = [dataclasses.replace(s, n_frames=3, onset=0, apex=1, offset=2) for s in seen["specs"]]
    root = layouts.write_corpus(
        tmp_path / layout, layout, short, workers=1, progress=False, render=three_frames, names=seen["names"]
    )
    loaded = load_dataset(layout, root)
    assert not loaded.problems
    original = make_split(loaded.clips, "kay2023-original")
    listed = splits.original_split_list(layout).set_index(["subject", "clip"])["part"]
    assert original["part"].tolist() == [
        listed.get((s, c), "unlisted") for s, c in zip(loaded.clips["subject"], loaded.clips["clip"])
    ]
    assert tuple(split_counts(original).loc[["train", "val", "test"], "clips"]) == ORIGINAL[layout][2]
    assert splits.original_missing(loaded.clips) == []
    metadata = splits.split_metadata(original, "kay2023-original", 42)
    unlisted_keys = loaded.clips.set_index("clip_key").loc[metadata["unlisted"]]
    assert [f"{s}/{c}" for s, c in zip(unlisted_keys["subject"], unlisted_keys["clip"])] == UNLISTED[layout]
    assert splits.original_inventory(metadata) == {
        "listed": len(listed),
        "used": len(listed),
        "unlisted": len(UNLISTED[layout]),
        "missing": 0,
    }

    reimplemented = make_split(loaded.clips, "kay2023", seed=42)  # the sheet's clips, single-clip subjects dropped
    counts = loaded.clips["subject"].value_counts()
    n_kept = counts[counts >= 2].sum()
    n_test = -(-n_kept // 2)
    n_val = -(-(n_kept - n_test) // 5)
    assert tuple(split_counts(reimplemented).loc[["train", "val", "test"], "clips"]) == (
        n_kept - n_test - n_val,
        n_val,
        n_test,
    )
    test = reimplemented[reimplemented["part"] == "test"]
    untrained = untrained_test_subjects(reimplemented)
    assert accuracy_ceiling(reimplemented) == pytest.approx(1 - test["subject"].isin(untrained).mean())


def test_the_data_page_explains_the_sheets_kay2023_counts_against_the_originals():
    from pathlib import Path

    import pandas as pd

    page = (Path(__file__).resolve().parents[1] / "book" / "data.md").read_text()
    for layout in ("casme2", "samm"):
        rows = [(f"{layout}_{s}_{c}", s) for s, clips in inventory.inventory(layout) for c in clips]
        counts = split_counts(make_split(pd.DataFrame(rows, columns=["clip_key", "subject"]), "kay2023", seed=42))
        train, val, test = counts.loc[["train", "val", "test"], "clips"]
        original = ORIGINAL[layout][2]
        assert test == original[2] + 1  # one test clip more than the original's files: 128 vs 127, 78 vs 77
        assert f"{train}/{val}/**{test}**" in page and "/".join(map(str, original)) in page


def test_a_sheet_shaped_samm_root_prepares_and_splits_as_the_original_with_its_unlisted_clips(monkeypatch, tmp_path):
    """The real-data path on the SAMM sheet's 159 clips: prepare (the original's end padding under its protocol),
    then kay2023-original: the original's 60/16/77, the six unlisted clips named, none used."""
    from mlib.datasets.window import pad_rule
    from mlib.preprocess import load_index, prepare_cache

    seen = generated(monkeypatch, "samm", "original")
    monkeypatch.undo()
    short = [dataclasses.replace(s, n_frames=3, onset=0, apex=1, offset=2) for s in seen["specs"]]
    root = layouts.write_corpus(
        tmp_path / "SAMM", "samm", short, workers=1, progress=False, render=three_frames, names=seen["names"]
    )
    clips = load_dataset("samm", root).clips
    cache = prepare_cache(
        clips,
        tmp_path / "cache",
        dataset="samm",
        root=str(root),
        window=8,
        face_size=16,
        margin=0.15,
        pad=pad_rule("protocol", "kay2023-original"),
        workers=1,
        progress=False,
    )
    assert (load_index(cache)[["pad_before", "pad_after"]].values == [0, 5]).all()  # 3 frames, 5 copies of the last
    split_file = splits.write_splits(cache, "kay2023-original")[0]
    metadata = splits.load_split_metadata(split_file)
    report = splits.split_report(splits.load_split(split_file), metadata)
    assert [metadata["counts"][p] for p in ("train", "val", "test", "unlisted")] == [60, 16, 77, 6]
    assert "original's lists: listed 153, used 153, unlisted 6, missing 0" in report
    names = load_index(cache).set_index("clip_key").loc[metadata["unlisted"], "clip"]
    assert sorted(names) == sorted(u.split("/")[1] for u in UNLISTED["samm"])
    assert "subject(s) both excluded and used" not in report
