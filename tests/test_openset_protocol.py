"""The subject-disjoint open-set protocol on tiny clip tables."""

import json

import numpy as np
import pandas as pd
import pytest

from mlib.core.config import ConfigError, resolve
from mlib.preprocess.open_set_split import check_open_set_split, open_set_split
from mlib.preprocess.splits import SplitError, load_split, make_split, write_splits
from tests.tiny_caches import write_cache


def clip_table(clips_per_subject: dict[str, int]) -> pd.DataFrame:
    rows = [(f"k_{s}_{c}", s) for s, n in clips_per_subject.items() for c in range(n)]
    return pd.DataFrame(rows, columns=["clip_key", "subject"])


TABLE = clip_table({**{f"{i:02d}": 6 for i in range(1, 13)}, "13": 1, "14": 1})


def roles(split):
    return {p: set(split.loc[split["part"] == p, "subject"]) for p in ("train", "val", "enrol", "probe")}


def test_folds_leave_disjoint_subjects_unseen_and_cover_them_all():
    unseen_per_fold = []
    for fold in range(3):
        split = open_set_split(TABLE, seed=7, fold=fold, folds=3, enrol_clips=2, never_enrolled=0.25)
        check_open_set_split(split)
        r = roles(split)
        assert not (r["train"] | r["val"]) & (r["enrol"] | r["probe"])
        assert r["val"] <= r["train"]
        unseen_per_fold.append((r["enrol"] | r["probe"]) - {"13", "14"})
    assert all(len(u) == 4 for u in unseen_per_fold)
    assert set().union(*unseen_per_fold) == {f"{i:02d}" for i in range(1, 13)}
    assert not unseen_per_fold[0] & unseen_per_fold[1]


def test_enrolment_takes_k_clips_and_leaves_probes():
    split = open_set_split(TABLE, seed=1, fold=0, folds=3, enrol_clips=2, never_enrolled=0.25)
    enrolled = split[split["part"] == "enrol"].groupby("subject").size()
    assert (enrolled == 2).all() and len(enrolled) == 3  # 4 unseen, ceil(0.25 * 4) = 1 never enrolled
    probes = split[split["part"] == "probe"].groupby("subject").size()
    assert all(probes[s] == 4 for s in enrolled.index)
    never = set(probes.index) - set(enrolled.index)
    assert {"13", "14"} <= never and len(never - {"13", "14"}) == 1
    assert all(probes[s] == 6 for s in never - {"13", "14"})


def test_single_clip_subjects_are_only_never_enrolled_probes():
    for fold in range(3):
        split = open_set_split(TABLE, seed=0, fold=fold, folds=3)
        assert set(split.loc[split["subject"].isin(["13", "14"]), "part"]) == {"probe"}


def test_subjects_too_small_to_enrol_are_never_enrolled():
    table = clip_table({"a": 6, "b": 6, "c": 6, "d": 2, "e": 6, "f": 6})
    for fold in range(2):
        split = open_set_split(table, seed=3, fold=fold, folds=2, enrol_clips=2, never_enrolled=0.0)
        assert "d" not in set(split.loc[split["part"] == "enrol", "subject"])


def test_seeded_and_different_seeds_differ():
    a = open_set_split(TABLE, seed=5, fold=1, folds=3)
    assert a.equals(open_set_split(TABLE, seed=5, fold=1, folds=3))
    assert not a["part"].equals(open_set_split(TABLE, seed=6, fold=1, folds=3)["part"])


def test_too_few_subjects_are_refused():
    with pytest.raises(SplitError, match="cannot make 3 folds"):
        open_set_split(clip_table({"a": 4, "b": 4}), folds=3)
    with pytest.raises(SplitError, match="open-set identification needs 2"):
        open_set_split(clip_table({s: 4 for s in "abcdef"}), folds=3, never_enrolled=0.5)


def test_check_refuses_a_subject_both_trained_and_unseen():
    split = pd.DataFrame({"clip_key": ["x", "y"], "subject": ["a", "a"], "part": ["train", "probe"]})
    with pytest.raises(SplitError, match="both trained on and unseen"):
        check_open_set_split(split)


def test_registered_protocol_and_settings(tmp_path):
    assert set(make_split(TABLE, "open-set", seed=7)["part"]) == {"train", "val", "enrol", "probe"}
    with pytest.raises(ConfigError, match="split.open_set.folds"):
        resolve(None, {"split": {"open_set": {"folds": 1}}})
    rng = np.random.default_rng(0)
    cache = write_cache(tmp_path, {f"{i:02d}": [rng.integers(0, 255, (4, 8, 8, 3), np.uint8)] * 5 for i in range(9)})
    paths = write_splits(cache, "open-set", seed=3)
    assert [p.name for p in paths] == [f"open-set-fold{f}-seed3.csv" for f in range(3)]
    sidecar = json.loads(paths[0].with_suffix(".json").read_text())
    assert (
        sidecar["fold"] == 0 and len(sidecar["enrolled_subjects"]) == 2 and len(sidecar["never_enrolled_subjects"]) == 1
    )
    assert set(load_split(paths[2])["part"]) == {"train", "val", "enrol", "probe"}
    with pytest.raises(ValueError, match="repeats must be 1"):
        write_splits(cache, "open-set", seed=3, repeats=2)


def test_mlib_split_writes_and_reports_every_fold(tmp_path, capsys):
    from mlib.commands import cli

    rng = np.random.default_rng(1)
    cache = write_cache(tmp_path, {f"{i:02d}": [rng.integers(0, 255, (4, 8, 8, 3), np.uint8)] * 5 for i in range(9)})
    assert cli.main(["split", "--cache", str(cache), "--protocol", "open-set", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.endswith(".csv")] == [
        str(cache / "splits" / f"open-set-fold{f}-seed4.csv") for f in range(3)
    ]
    assert out.count("\nenrol ") == 3 and "fold 2 of 3: enrolled" in out
    assert cli.main(["split", "--cache", str(cache), "--protocol", "open-set", "--repeats", "2"]) == 1
    assert "repeats must be 1" in capsys.readouterr().err
