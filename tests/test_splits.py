"""Split protocols: disjoint parts, stratification, exclusions and the guarantees checked on write."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from mlib import splits
from mlib.splits import SplitError, check_split, load_split, make_split, split_counts, write_split


def table(clips_per_subject: dict[str, int]) -> pd.DataFrame:
    rows = [(f"x_{s}_{i}", s) for s, n in clips_per_subject.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["clip_key", "subject"])


def smic_like() -> pd.DataFrame:
    """157 clips of 16 subjects, uneven as in SMIC-HS (2 to 20 clips per subject)."""
    counts = [20, 18, 16, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2, 2]
    assert sum(counts) == 157
    return table({f"s{i + 1:02d}": n for i, n in enumerate(counts)})


def test_half_is_disjoint_stratified_and_excludes_single_clip_subjects():
    clips = table({"01": 10, "02": 6, "03": 4, "04": 1, "05": 2, "06": 1})
    split = make_split(clips, "half", seed=3)
    check_split(split)
    assert split["clip_key"].tolist() == clips["clip_key"].tolist()
    assert sorted(split.loc[split.part == "excluded", "subject"]) == ["04", "06"]
    per_subject = split[split.part != "excluded"].groupby("subject")["part"].value_counts().unstack(fill_value=0)
    assert (per_subject["test"] == per_subject["train"]).all()  # even counts: exactly half each
    assert set(split["part"]) == {"train", "test", "excluded"}


def test_validation_subjects_are_trained_on():
    split = make_split(smic_like(), "half", val_size=0.2, seed=0)
    check_split(split)
    counts = split_counts(split)
    assert counts.loc["test", "clips"] == 79 and counts.loc["val", "clips"] == 16
    trained = set(split.loc[split.part == "train", "subject"])
    assert set(split.loc[split.part == "val", "subject"]) <= trained


def test_seeds_differ_and_same_seed_is_identical():
    clips = smic_like()
    a, b, c = (make_split(clips, "half", val_size=0.1, seed=s) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a, b)
    assert not a["part"].equals(c["part"])


@pytest.mark.parametrize("seed", [42, 7])
def test_kay2023_counts_match_the_original_code(seed):
    split = make_split(smic_like(), "kay2023", seed=seed)
    check_split(split)
    counts = split_counts(split)["clips"]
    assert abs(counts["train"] - 62) <= 3 and abs(counts["val"] - 16) <= 3 and abs(counts["test"] - 79) <= 1
    assert split_counts(split).loc["test", "subjects"] == 16


def test_kay2023_refuses_other_shares():
    with pytest.raises(ValueError, match="kay2023 fixes test_size"):
        make_split(smic_like(), "kay2023", test_size=0.3)


def test_validation_without_stratification_keeps_a_training_clip_per_subject():
    # 16 subjects with 3 clips: 1 or 2 test, then a validation share far below 16 clips
    clips = table({f"{i:02d}": 3 for i in range(16)})
    split = make_split(clips, "half", val_size=0.1, seed=5)
    check_split(split)
    assert (split.part == "val").sum() == 3


def test_two_clip_subjects_never_validate():
    clips = table({"01": 2, "02": 2, "03": 8})
    for seed in range(5):
        split = make_split(clips, "kay2023", seed=seed)
        check_split(split)
        assert set(split.loc[split.part == "val", "subject"]) <= {"03"}


def test_check_split_catches_broken_splits(tmp_path):
    good = make_split(table({"01": 4, "02": 4}), "half", seed=0)
    broken = good.copy()
    broken.loc[broken.subject == "02", "part"] = "test"
    with pytest.raises(SplitError, match=r"test subject\(s\) without training clips: \['02'\]"):
        write_split(broken, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
    with pytest.raises(SplitError, match="more than one"):
        check_split(pd.concat([good, good.iloc[:1]]))
    val_only = good.copy()
    val_only.loc[val_only.subject == "01", "part"] = "val"
    with pytest.raises(SplitError, match="val subject"):
        check_split(val_only)


def test_too_few_subjects_is_an_error():
    with pytest.raises(SplitError, match="at least 2"):
        make_split(table({"01": 5, "02": 1}), "half")


def write_index(cache, clips):
    cache.mkdir(parents=True)
    from mlib.preprocess.cache import INDEX_COLUMNS

    index = pd.DataFrame({name: 0 for name in INDEX_COLUMNS}, index=clips.index)
    index["clip_key"], index["subject"] = clips["clip_key"], clips["subject"]
    index.to_csv(cache / "index.csv", index=False)


def test_split_command_writes_repeats(tmp_path, capsys):
    cache = tmp_path / "casme2-abc"
    clips = smic_like()
    clips.loc[clips.index[:2], "subject"] = ["007", "008"]  # two single-clip subjects, zero-padded ids
    write_index(cache, clips)
    parser = argparse.ArgumentParser()
    splits.add_arguments(parser)
    args = parser.parse_args(["--cache", str(cache), "--protocol", "half", "--seed", "4", "--repeats", "2"])
    assert splits.main(args) == 0
    out = capsys.readouterr().out
    assert "excluded subjects (fewer than two clips): 007, 008" in out
    first, second = (load_split(cache / f"splits/half-seed{s}.csv") for s in (4, 5))
    assert list(first.columns) == ["clip_key", "subject", "part"]
    assert first["subject"].iloc[0] == "007" and first["part"].iloc[0] == "excluded"
    assert not first["part"].equals(second["part"])
    assert (first.part == "val").sum() == np.ceil(0.1 * (155 - 78))
