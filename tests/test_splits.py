"""Split protocols: disjoint parts, stratification, exclusions and the guarantees checked on write."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from mlib.commands import split as split_command
from mlib.core.config import load_defaults
from mlib.datasets.base import natural_key
from mlib.preprocess import splits
from mlib.preprocess.splits import (
    SplitError,
    accuracy_ceiling,
    check_split,
    load_split,
    make_split,
    original_split_list,
    split_counts,
    untrained_test_subjects,
    write_split,
)

ORIGINAL_COUNTS = {"casme2": (101, 26, 127), "samm": (60, 16, 77), "smic": (62, 16, 79)}


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


def original_table(dataset: str) -> pd.DataFrame:
    """The original's clips of ``dataset`` as a clip table, subjects then clips in natural order."""
    listed = original_split_list(dataset)
    order = sorted(
        range(len(listed)), key=lambda i: (natural_key(listed["subject"][i]), natural_key(listed["clip"][i]))
    )
    listed = listed.iloc[order].reset_index(drop=True)
    return listed.assign(clip_key=dataset + "_" + listed["subject"] + "_" + listed["clip"], dataset=dataset)


@pytest.mark.parametrize("dataset", ["casme2", "samm", "smic"])
def test_kay2023_gives_the_original_counts_on_the_original_inventory(dataset):
    split = make_split(original_table(dataset), "kay2023", seed=42)
    check_split(split, allow_untrained=True)
    counts = split_counts(split)["clips"]
    assert (counts["train"], counts["val"], counts["test"]) == ORIGINAL_COUNTS[dataset]
    assert split_counts(split).loc["test", "subjects"] == split["subject"].nunique()  # the test part is stratified


def test_kay2023_reproduces_the_original_smic_split_clip_by_clip():
    # With the clips in natural order, the re-implementation assigns every SMIC clip as the published files do
    # (CASME II and SAMM were split from their spreadsheets' row order, which is not public).
    table = original_table("smic")
    split = make_split(table, "kay2023", seed=42)
    assert split["part"].tolist() == table["part"].tolist()
    assert untrained_test_subjects(split) == ["19"]
    assert accuracy_ceiling(split) == pytest.approx(78 / 79)


def test_kay2023_validation_is_not_stratified_and_the_ceiling_counts_untrained_test_clips():
    # 40 subjects with 2 clips: one tests, the other trains or validates, chosen without stratification
    clips = table({f"{i:02d}": 2 for i in range(40)})
    split = make_split(clips, "kay2023", seed=0)
    untrained = untrained_test_subjects(split)
    assert (split.part == "val").sum() == 8 and len(untrained) == 8  # every validating subject loses its training
    test = split[split.part == "test"]
    assert accuracy_ceiling(split) == pytest.approx(1 - test.subject.isin(untrained).sum() / len(test)) == 0.8
    with pytest.raises(SplitError, match="test subject"):
        check_split(split)  # half's guarantee does not hold for kay2023


def test_kay2023_refuses_other_shares():
    with pytest.raises(ValueError, match="kay2023 fixes test_size"):
        make_split(smic_like(), "kay2023", test_size=0.3)
    with pytest.raises(ValueError, match="kay2023-original fixes val_size"):
        make_split(smic_like(), "kay2023-original", val_size=0.3)


def test_validation_without_stratification_keeps_a_training_clip_per_subject():
    # 16 subjects with 3 clips: 1 or 2 test, then a validation share far below 16 clips
    clips = table({f"{i:02d}": 3 for i in range(16)})
    split = make_split(clips, "half", val_size=0.1, seed=5)
    check_split(split)
    assert (split.part == "val").sum() == 3


def test_half_keeps_every_test_subject_trained_where_kay2023_does_not():
    clips = table({f"{i:02d}": 2 for i in range(10)} | {"99": 8})
    for seed in range(5):
        split = make_split(clips, "half", val_size=0.2, seed=seed)
        check_split(split)
        assert set(split.loc[split.part == "val", "subject"]) <= {"99"}  # two-clip subjects never validate
        assert untrained_test_subjects(split) == [] and accuracy_ceiling(split) == 1.0


@pytest.mark.parametrize("dataset", ["casme2", "samm", "smic"])
def test_kay2023_original_assigns_every_clip_as_the_original_files(dataset):
    listed = original_table(dataset)
    subject = listed["subject"].iloc[5]  # a listed subject with one clip the lists lack (CASME II sub04 EP12_01f)
    extra = pd.DataFrame(
        {
            "clip_key": [f"{dataset}_{subject}_extra", f"{dataset}_99_extra"],
            "subject": [subject, "99"],
            "clip": ["extra", "extra"],
            "dataset": [dataset] * 2,
        }
    )
    clips = pd.concat([listed.drop(columns="part").iloc[1:], extra], ignore_index=True)  # one listed clip missing
    split = make_split(clips, "kay2023-original")
    check_split(split, allow_untrained=True)  # the subject keeps its listed clips: not "both excluded and used"
    assert split["part"].tolist() == listed["part"].iloc[1:].tolist() + ["unlisted", "unlisted"]
    assert (split["reason"].iloc[-2:] == splits.NOT_IN_ORIGINAL).all() and (split["reason"].iloc[:-2] == "").all()
    metadata = splits.split_metadata(split, "kay2023-original", 42, splits.original_missing(clips))
    assert metadata["unlisted"] == extra["clip_key"].tolist() and metadata["excluded"] == {}
    assert splits.original_inventory(metadata) == {
        "listed": len(listed),
        "used": len(listed) - 1,
        "unlisted": 2,
        "missing": 1,
    }
    note = splits.original_inventory_note(metadata)
    assert note.startswith(
        f"Against the original's split list, listed {len(listed)}, used {len(listed) - 1}, unlisted 2, missing 1"
    )
    assert extra["clip_key"].iloc[0] in note and f"missing: {listed['subject'][0]}/{listed['clip'][0]}" in note
    assert splits.original_missing(clips) == [f"{listed['subject'][0]}/{listed['clip'][0]}"]
    full = make_split(listed.drop(columns="part"), "kay2023-original")
    assert tuple(split_counts(full).loc[["train", "val", "test"], "clips"]) == ORIGINAL_COUNTS[dataset]


def test_original_lists_use_the_adapters_subject_ids():
    assert sorted(set(original_split_list("samm")["subject"]))[:2] == ["006", "007"]
    assert sorted(set(original_split_list("casme2")["subject"]))[:2] == ["01", "02"]
    # the untrained test subjects of the published files (book/original-code.md)
    for dataset, subjects, ceiling in (("samm", ["019", "028", "033"], 72 / 77), ("smic", ["19"], 78 / 79)):
        split = make_split(original_table(dataset).drop(columns="part"), "kay2023-original")
        assert untrained_test_subjects(split) == subjects and accuracy_ceiling(split) == pytest.approx(ceiling)


def test_kay2023_original_on_another_corpus_says_how_it_differs_in_one_line(tmp_path, capsys):
    clips = table({"001": 3, "002": 3}).assign(clip=lambda t: t["clip_key"], dataset="samm")
    with pytest.raises(SplitError) as raised:
        make_split(clips, "kay2023-original")
    message = str(raised.value)
    assert "\n" not in message and "not the original's samm inventory: 0 of its 153 listed clips present" in message
    assert "6 clip(s) it does not list (e.g. 001/x_001_0" in message and "both excluded and used" not in message
    from mlib.commands import cli

    write_index(tmp_path / "samm-abc", clips)
    assert cli.main(["split", "--cache", str(tmp_path / "samm-abc"), "--protocol", "kay2023-original"]) == 1
    assert capsys.readouterr().err.strip() == f"mlib split: kay2023-original: {message.split(': ', 1)[1]}"
    assert not (tmp_path / "samm-abc" / "splits").exists()


def test_kay2023_original_needs_one_known_database():
    with pytest.raises(ValueError, match="one database"):
        make_split(table({"01": 2, "02": 2}).assign(clip="c"), "kay2023-original")
    with pytest.raises(ValueError, match="no original split list"):
        make_split(table({"01": 2}).assign(clip="c", dataset="mmew"), "kay2023-original")


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
    for name in set(clips.columns) & set(INDEX_COLUMNS):
        index[name] = clips[name]
    index.to_csv(cache / "index.csv", index=False)


def test_split_command_writes_repeats(tmp_path, capsys):
    cache = tmp_path / "casme2-abc"
    clips = smic_like()
    clips.loc[clips.index[:2], "subject"] = ["007", "008"]  # two single-clip subjects, zero-padded ids
    write_index(cache, clips)
    parser = argparse.ArgumentParser()
    split_command.add_arguments(parser)
    args = parser.parse_args(["--cache", str(cache), "--protocol", "half", "--seed", "4", "--repeats", "2"])
    assert split_command.main(args) == 0
    out = capsys.readouterr().out
    assert "excluded subjects (fewer than two clips): 007, 008" in out
    assert "test subjects without a training clip: none (0 of 78 test clips); accuracy ceiling 100.0%" in out
    defaults = load_defaults()["split"]
    first, second = (
        load_split(splits.split_path(cache, "half", s, defaults["test_size"], defaults["val_size"])) for s in (4, 5)
    )
    meta = splits.load_split_metadata(splits.split_path(cache, "half", 4, defaults["test_size"], defaults["val_size"]))
    assert (meta["test_size"], meta["val_size"]) == (defaults["test_size"], defaults["val_size"])
    assert meta["excluded"] == {clips.clip_key[0]: splits.TOO_FEW_CLIPS, clips.clip_key[1]: splits.TOO_FEW_CLIPS}
    assert list(first.columns) == ["clip_key", "subject", "part"]
    assert first["subject"].iloc[0] == "007" and first["part"].iloc[0] == "excluded"
    assert not first["part"].equals(second["part"])
    assert (first.part == "val").sum() == np.ceil(0.1 * (155 - 78))


def test_split_command_reports_the_original_split_on_a_cache(tmp_path, capsys):
    cache = tmp_path / "samm-abc"
    listed = original_table("samm")
    extra = pd.DataFrame(
        {"clip_key": ["samm_040_040_1_1"], "subject": ["040"], "clip": ["040_1_1"], "dataset": ["samm"]}
    )
    clips = pd.concat([listed.drop(columns="part").iloc[1:], extra], ignore_index=True)
    write_index(cache, clips)
    parser = argparse.ArgumentParser()
    split_command.add_arguments(parser)
    assert split_command.main(parser.parse_args(["--cache", str(cache), "--protocol", "kay2023-original"])) == 0
    out = capsys.readouterr().out
    assert "original's lists: listed 153, used 152, unlisted 1, missing 1" in out
    assert "unlisted (the sheet has them, the original's lists do not; never used) (1): samm_040_040_1_1" in out
    assert f"listed by the original but missing here (1): {listed['subject'][0]}/{listed['clip'][0]}" in out
    assert "test subjects without a training clip: 019, 028, 033 (5 of 77 test clips); accuracy ceiling 93.5%" in out
    meta = splits.load_split_metadata(cache / "splits/kay2023-original-seed42.csv")
    assert meta["untrained_test_subjects"] == ["019", "028", "033"] and meta["accuracy_ceiling"] == pytest.approx(
        72 / 77
    )
    expected = listed["part"].iloc[1:].value_counts()
    assert meta["counts"] == {
        "train": expected["train"],
        "val": expected["val"],
        "test": expected["test"],
        "excluded": 0,
        "unlisted": 1,
    }
    from mlib.commands import cli  # bad input is reported by the one handler in mlib.commands.cli

    assert cli.main(["split", "--cache", str(cache), "--protocol", "kay2023-original", "--repeats", "2"]) == 1
    assert "repeats must be 1" in capsys.readouterr().err


def test_training_accepts_untrained_test_subjects_only_from_a_kay2023_split(tmp_path):
    from tiny_caches import write_tiny_cache

    from mlib.training.clips import DataError, load_clip_table

    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=2, window=4, side=8)
    index = pd.read_csv(cache / "index.csv", dtype={"subject": str})
    split = index[["clip_key", "subject"]].assign(part=["train", "test"] * 2 + ["test", "test"])
    path = tmp_path / "kay2023-seed42.csv"
    write_split(split, path, splits.split_metadata(split, "kay2023", 42))
    table = load_clip_table(cache, path)
    assert table.classes == ["01", "02", "03"]  # every subject is a class, as in the original's classids.json
    assert splits.load_split_metadata(path)["untrained_test_subjects"] == ["03"]
    splits.metadata_path(path).unlink()
    with pytest.raises(DataError, match=r"\['03'\] are in val/test but not in train"):
        load_clip_table(cache, path)


@pytest.mark.parametrize("dataset", ["casme2", "samm", "smic"])
def test_kay2023_original_records_the_published_class_ids(tmp_path, dataset):
    listed = original_table(dataset)
    cache = tmp_path / f"{dataset}-abc"
    write_index(cache, listed.drop(columns=["part", "class_id", "class_name"]))
    meta = splits.load_split_metadata(splits.write_splits(cache, "kay2023-original")[0])
    shipped = dict(zip(listed["subject"], listed["class_id"].astype(int)))
    assert meta["class_ids"] == shipped  # the original's classids.json, not a rule of ours


@pytest.mark.parametrize("dataset", ["casme2", "samm", "smic"])
def test_kay2023_class_ids_follow_the_originals_value_counts_rule(dataset):
    listed = original_table(dataset)
    ids = splits.split_class_ids(make_split(listed, "kay2023", seed=42), "kay2023")
    shipped = dict(zip(listed["subject"], listed["class_id"].astype(int)))
    counts = listed["subject"].value_counts()
    assert sorted(ids.values()) == sorted(shipped.values()) == list(range(len(counts)))
    assert [counts[s] for s in sorted(ids, key=ids.get)] == sorted(counts, reverse=True)  # most clips first
    unique = [s for s in counts.index if (counts == counts[s]).sum() == 1]
    assert unique and all(ids[s] == shipped[s] for s in unique)  # equal counts: the order is the only freedom
    assert splits.split_class_ids(make_split(listed, "half", seed=42), "half") is None
