"""Bad input, as a hostile new user gives it: every case exits with one line naming the file or key,
nothing is cached or trained wrongly, and no traceback reaches the user (issue 12).

One tiny synthetic corpus per layout is shared by the session; each test damages a private copy.
Commands run through ``mlib.commands.cli.main`` (``run`` below asserts that no traceback was printed);
Ctrl-C and a closed pipe run in a subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from tiny_caches import write_layout_corpora, write_split, write_tiny_cache

from mlib.commands import cli
from mlib.core import io
from mlib.core.config import load_defaults
from mlib.datasets import DATASETS, load_dataset
from mlib.datasets.window import place_window
from mlib.preprocess.splits import SplitError, load_split, load_split_metadata, split_path

WINDOW = 8
PREPARE = ["--window", str(WINDOW), "--face-size", "16", "--workers", "1", "--no-progress"]
REPO = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run(capsys, *argv) -> tuple[int, str, str]:
    """``mlib ARGV`` in this process: (exit code, stdout, stderr); never a traceback."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out, captured.err
    return code, captured.out, captured.err


# -- shared inputs -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpora(tmp_path_factory):
    """A 2 subjects x 2 clips corpus per layout (frames 120x160, large enough for Haar)."""
    return write_layout_corpora(
        tmp_path_factory.mktemp("bad-corpora"),
        subjects=2,
        clips_per_subject=2,
        frame_size=(120, 160),
        short_clip_fraction=0.0,
        seed=2,
    )


@pytest.fixture(scope="session")
def clean_cache(corpora, tmp_path_factory):
    """The CASME II corpus prepared undamaged: what every repaired or stray-ridden copy must give."""
    out = tmp_path_factory.mktemp("clean-cache")
    assert (
        cli.main(
            ["prepare", "--dataset", "casme2", "--root", str(corpora["casme2"]), "--cache-dir", str(out), *PREPARE]
        )
        == 0
    )
    return next(out.glob("casme2-*"))


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A tiny prepared cache and a split file, for split and train."""
    root = tmp_path_factory.mktemp("bad-tiny")
    cache = write_tiny_cache(root, subjects=3, clips_per_subject=4, window=8, side=32)
    return cache, write_split(cache, n_train=2, n_val=1)


@pytest.fixture
def root_copy(corpora, tmp_path):
    def copy(layout: str) -> Path:
        return Path(shutil.copytree(corpora[layout], tmp_path / layout))

    return copy


def default_split(cache: Path, seed: int) -> Path:
    """The split file ``mlib split --cache CACHE --seed SEED`` writes (the defaults' shares)."""
    shares = load_defaults()["split"]
    return split_path(cache, "half", seed, shares["test_size"], shares["val_size"])


def first_clip(root: Path, layout: str = "casme2"):
    return load_dataset(layout, root).clips.iloc[0]


def window_frames(clip) -> list[Path]:
    """The frames the WINDOW-frame window of ``clip`` uses."""
    win = place_window(clip.frame_numbers, clip.onset, clip.apex, clip.offset, WINDOW)
    return [Path(p) for p in clip.frames[win.start : win.end + 1]]


def middle_window_frame(clip) -> Path:
    """A window frame that is neither the clip's first, apex nor last frame."""
    used = {clip.frames[0], clip.frames[-1], clip.frames[clip.frame_numbers.index(clip.apex)]}
    return next(p for p in window_frames(clip) if str(p) not in used)


def cache_arrays(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((cache / "clips").glob("*.npy"))}


def prepare(capsys, root: Path, cache_dir: Path, dataset: str = "casme2", *extra):
    return run(capsys, "prepare", "--dataset", dataset, "--root", root, "--cache-dir", cache_dir, *PREPARE, *extra)


def the_cache(cache_dir: Path) -> Path:
    [cache] = cache_dir.glob("casme2-*")
    return cache


def edit_sheet(root: Path, layout: str, edit) -> Path:
    """Hand ``edit(sheet, header_row, column_by_name)`` the annotation's first sheet, then save it."""
    path = root / DATASETS[layout].annotation
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "Subject")
    edit(sheet, header, {sheet.cell(header, c).value: c for c in range(1, sheet.max_column + 1)})
    workbook.save(path)
    return path


# -- silent wrong results ------------------------------------------------------------------------


def test_truncated_jpeg_is_named_by_validate_and_prepare_and_never_cached(root_copy, clean_cache, tmp_path, capsys):
    root = root_copy("casme2")
    clip = first_clip(root)
    frame = middle_window_frame(clip)
    original = frame.read_bytes()
    frame.write_bytes(original[: len(original) // 2])
    assert cv2.imread(str(frame)) is not None  # what made it silent: OpenCV decodes it, grey-tailed

    code, out, err = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--window", WINDOW, "--no-progress")
    assert code == 1 and f"{frame.name}: truncated JPEG" in out and "1 error(s)" in err

    code, _, err = prepare(capsys, root, tmp_path / "c")
    assert code == 1 and f"{frame}: truncated JPEG (no end-of-image marker)" in err
    assert not list((tmp_path / "c").rglob("index.csv"))  # the cache is not complete
    assert not list((tmp_path / "c").rglob(f"{clip.clip_key}.npy"))  # the damaged clip is not cached

    frame.write_bytes(original)  # repaired: the rerun finishes and equals an undamaged run
    assert prepare(capsys, root, tmp_path / "c")[0] == 0
    assert cache_arrays(the_cache(tmp_path / "c")) == cache_arrays(clean_cache)


def test_changed_source_frame_remakes_only_the_clips_that_used_it(root_copy, tmp_path, capsys):
    root = root_copy("casme2")
    assert prepare(capsys, root, tmp_path / "c")[0] == 0
    cache = the_cache(tmp_path / "c")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (cache / "clips").glob("*.npy")}

    clip = first_clip(root)
    frames = window_frames(clip)
    frames[2].write_bytes(frames[5].read_bytes())  # a different, valid frame
    stamp = frames[2].stat().st_mtime_ns + 10**9
    os.utime(frames[2], ns=(stamp, stamp))

    code, out, _ = prepare(capsys, root, tmp_path / "c")
    assert code == 0 and f"1 cached clip(s) made again because their source frames changed: {clip.clip_key}" in out
    assert "prepared 1 clip(s), kept 3 already cached" in out
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (cache / "clips").glob("*.npy")}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == [f"{clip.clip_key}.npy"]
    assert prepare(capsys, root, tmp_path / "fresh")[0] == 0  # the remade clip equals a fresh cache's
    assert cache_arrays(cache) == cache_arrays(the_cache(tmp_path / "fresh"))
    assert "nothing to do" in prepare(capsys, root, tmp_path / "c")[1]


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_stray_copies_of_frames_are_reported_and_never_read_as_frames(layout, corpora, root_copy, capsys):
    root = root_copy(layout)
    clip = first_clip(root, layout)
    frame = window_frames(clip)[3]
    copy, apple = frame.with_name(f"{frame.stem} (2){frame.suffix}"), frame.with_name(f"._{frame.name}")
    shutil.copyfile(frame, copy)
    apple.write_bytes(b"\x00\x05\x16\x07 AppleDouble")

    code, out, _ = run(capsys, "validate", "--dataset", layout, "--root", root, "--window", WINDOW, "--no-progress")
    assert code == 0 and "2 file(s) not named like" in out and repr(copy.name) in out and repr(apple.name) in out
    damaged, clean = load_dataset(layout, root).clips, load_dataset(layout, corpora[layout]).clips
    assert [Path(p).name for p in damaged.iloc[0].frames] == [Path(p).name for p in clean.iloc[0].frames]
    assert list(damaged["frame_numbers"]) == list(clean["frame_numbers"])


def test_prepare_ignores_stray_copies(root_copy, clean_cache, tmp_path, capsys):
    root = root_copy("casme2")
    frame = window_frames(first_clip(root))[3]
    shutil.copyfile(window_frames(first_clip(root))[0], frame.with_name(f"{frame.stem} (2){frame.suffix}"))
    assert prepare(capsys, root, tmp_path / "c")[0] == 0
    assert cache_arrays(the_cache(tmp_path / "c")) == cache_arrays(clean_cache)


OUT_OF_RANGE = [
    ("prepare", ["--margin", "-1"], "prepare.margin", "[0, 2]"),
    ("prepare", ["--face-size", "0"], "prepare.face_size", ">= 1"),
    ("prepare", ["--window", "0"], "prepare.window", ">= 1"),
    ("prepare", ["--workers", "0"], "prepare.workers", ">= 1"),
    ("validate", ["--window", "-3"], "prepare.window", ">= 1"),
    ("split", ["--repeats", "0"], "split.repeats", ">= 1"),
    ("split", ["--repeats", "-2"], "split.repeats", ">= 1"),
    ("split", ["--test-size", "1.5"], "split.test_size", "(0, 1)"),
    ("train", ["--set", "train.epochs=0"], "train.epochs", ">= 1"),
    ("train", ["--set", "train.batch_size=0"], "train.batch_size", ">= 1"),
    ("train", ["--set", "train.lr=-0.1"], "train.lr", "> 0"),
    ("train", ["--set", "train.optimizer=adagrad"], "train.optimizer", "one of sgd, adam, adamw"),
    ("train", ["--set", "train.schedule=linear"], "train.schedule", "one of cosine, step, constant"),
]


@pytest.mark.parametrize("command, flags, key, allowed", OUT_OF_RANGE, ids=[f"{c[0]}{c[1]}" for c in OUT_OF_RANGE])
def test_out_of_range_values_are_refused_naming_the_key(command, flags, key, allowed, corpora, tiny, tmp_path, capsys):
    cache, split = tiny
    splits_before = sorted((cache / "splits").iterdir())
    inputs = {
        "prepare": ["--dataset", "casme2", "--root", corpora["casme2"], "--cache-dir", tmp_path / "c", "--no-progress"],
        "validate": ["--dataset", "casme2", "--root", corpora["casme2"], "--no-progress"],
        "split": ["--cache", cache, "--seed", 7],
        "train": ["--cache", cache, "--split", split, "--out", tmp_path / "runs", "--name", "x", "--no-progress"],
    }[command]
    code, out, err = run(capsys, command, *inputs, *flags)
    assert code == 1 and out == ""
    assert err.startswith(f"mlib {command}: {key}: ") and f"allowed: {allowed}" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists() and not (tmp_path / "runs").exists()
    assert sorted((cache / "splits").iterdir()) == splits_before


@pytest.mark.parametrize("damage", ["empty", "corrupt", "truncated"])
def test_validate_decodes_every_frame_of_the_window(damage, root_copy, capsys):
    root = root_copy("casme2")
    clip = first_clip(root)
    frame = middle_window_frame(clip)
    data = frame.read_bytes()
    frame.write_bytes({"empty": b"", "corrupt": b"GIF89a not a jpeg", "truncated": data[:-300]}[damage])
    code, out, err = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--window", WINDOW, "--no-progress")
    problem = {"empty": "empty file", "corrupt": "not a JPEG file", "truncated": "truncated JPEG"}[damage]
    assert code == 1 and f"[{clip.clip_key}]: frame {frame.name}: {problem}" in out and "1 error(s)" in err


def test_what_validate_accepts_prepare_caches(root_copy, tmp_path, capsys):
    """A damaged frame outside every window is not used: validate accepts the root and prepare caches it."""
    root = root_copy("casme2")
    clip = first_clip(root)
    used = {str(p) for p in window_frames(clip)}
    unused = next(Path(p) for p in reversed(clip.frames) if p not in used)
    unused.write_bytes(b"")
    assert run(capsys, "validate", "--dataset", "casme2", "--root", root, "--window", WINDOW, "--no-progress")[0] == 0
    assert prepare(capsys, root, tmp_path / "c")[0] == 0 and (the_cache(tmp_path / "c") / "index.csv").is_file()


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their permissions")
def test_unreadable_frame_and_folder_are_named(root_copy, capsys):
    root = root_copy("casme2")
    clip = first_clip(root)
    frame = middle_window_frame(clip)
    frame.chmod(0)
    code, out, _ = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--window", WINDOW, "--no-progress")
    assert code == 1 and frame.name in out and "cannot read" in out
    folder = Path(clip.frame_dir)
    folder.chmod(0)
    try:
        code, _, err = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--no-progress")
        assert code == 1 and err == f"mlib validate: {folder}: Permission denied\n"
    finally:
        folder.chmod(0o755)


def test_unreadable_folder_is_named_even_for_root(root_copy, monkeypatch, capsys):
    """What a folder without read permission gives an ordinary user, simulated (root reads everything)."""
    root = root_copy("casme2")
    folder = Path(first_clip(root).frame_dir)
    listdir = os.listdir

    def refuse(path="."):
        if Path(path) == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", refuse)
    code, _, err = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--no-progress")
    assert code == 1 and err == f"mlib validate: {folder}: Permission denied\n"


@pytest.mark.parametrize("command", ["validate", "prepare"])
def test_spreadsheet_with_a_header_and_no_rows_is_an_error(command, root_copy, tmp_path, capsys):
    root = root_copy("casme2")
    sheet = edit_sheet(root, "casme2", lambda s, header, _: s.delete_rows(header + 1, s.max_row))
    extra = ["--cache-dir", tmp_path / "c", *PREPARE] if command == "prepare" else ["--no-progress"]
    code, out, err = run(capsys, command, "--dataset", "casme2", "--root", root, *extra)
    assert code == (2 if command == "validate" else 1) and "subjects" not in out
    assert f"{sheet}: the sheet has a header row" in err and "no data rows" in err
    assert not (tmp_path / "c").exists()


# -- clear errors --------------------------------------------------------------------------------


def test_duplicate_frame_numbers_name_the_files_and_the_number(root_copy, capsys):
    root = root_copy("casme2")
    clip = first_clip(root)
    frame = window_frames(clip)[2]
    number = int(frame.stem.removeprefix("img"))
    shutil.copyfile(frame, frame.with_name(f"img0{number}.jpg"))
    code, out, _ = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--no-progress")
    assert code == 1 and f"frame number {number} is carried by several files: img0{number}.jpg, img{number}.jpg" in out


def test_clip_names_differing_only_in_separators_or_unicode_are_reported_as_such(root_copy, capsys):
    root = root_copy("casme2")
    clips = load_dataset("casme2", root).clips.to_dict("records")  # subject 01: clips 0, 1; subject 02: 2, 3
    assert [c["subject"] for c in clips] == ["01", "01", "02", "02"]
    dashed = Path(clips[0]["frame_dir"])  # folder EP.._..f -> EP..-..f
    dashed.rename(dashed.with_name(dashed.name.replace("_", "-")))
    accented = Path(clips[1]["frame_dir"])  # folder gets a composed é, the sheet a decomposed one
    nfc, nfd = (unicodedata.normalize(form, accented.name + "é") for form in ("NFC", "NFD"))
    accented.rename(accented.with_name(nfc))
    spaced = clips[2]["clip"]  # clip 3's row names clip 2 with a space for the underscore
    edit_sheet(
        root,
        "casme2",
        lambda s, _, cols: (
            s.cell(clips[1]["source_row"], cols["Filename"], nfd),
            s.cell(clips[3]["source_row"], cols["Filename"], spaced.replace("_", " ")),
        ),
    )
    code, out, _ = run(capsys, "validate", "--dataset", "casme2", "--root", root, "--no-progress")
    assert code == 1
    same = "only in spaces, dashes or Unicode normalisation"
    assert f"{dashed.name.replace('_', '-')!r} differs from {dashed.name!r} {same}" in out
    assert f"{nfc!r} differs from {nfd!r} {same}" in out
    assert f"clip {spaced.replace('_', ' ')!r} differs from {spaced!r} on row {clips[2]['source_row']} {same}" in out


def test_missing_unusable_and_garbage_inputs_are_one_line(corpora, tiny, tmp_path, capsys):
    cache, split = tiny
    nowhere = tmp_path / "nowhere"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    not_yaml = tmp_path / "profile.yaml"
    not_yaml.write_text("model: [unclosed\n")
    cases = [
        (["validate", "--dataset", "samm", "--root", nowhere], 2, f"{nowhere}: no such folder"),
        (
            ["prepare", "--dataset", "casme2", "--root", nowhere, "--cache-dir", tmp_path / "c"],
            1,
            f"{nowhere}: no such folder",
        ),
        (
            ["prepare", "--dataset", "casme2", "--root", corpora["casme2"], "--cache-dir", a_file, *PREPARE],
            1,
            f"{a_file}: not a folder",
        ),
        (["split", "--cache", nowhere], 1, f"{nowhere / 'index.csv'}: missing"),
        (
            ["train", "--cache", cache, "--split", nowhere, "--out", tmp_path / "runs"],
            1,
            f"{nowhere}: No such file or directory",
        ),
        (
            ["train", "--profile", nowhere, "--cache", cache, "--split", split],
            1,
            f"{nowhere}: no such configuration file",
        ),
        (["train", "--profile", not_yaml, "--cache", cache, "--split", split], 1, f"{not_yaml}: not valid YAML"),
    ]
    for argv, expected, named in cases:
        code, _, err = run(capsys, *argv)
        assert code == expected and named in err and err.startswith(f"mlib {argv[0]}: "), (argv, err)
    assert not (tmp_path / "c").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("garbage", [b"\x00\xff\xfe\x89 binary", b'a,b\n1,2,3,4\n"', b"clip_key\nx\n", b""])
def test_garbage_index_csv_is_named(garbage, tiny, tmp_path, capsys):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "index.csv").write_bytes(garbage)
    code, _, err = run(capsys, "split", "--cache", tmp_path / "c")
    assert code == 1 and err.startswith(f"mlib split: {tmp_path / 'c' / 'index.csv'}: ")
    assert not (tmp_path / "c" / "splits").exists()
    code, _, err = run(capsys, "train", "--cache", tmp_path / "c", "--split", tiny[1], "--out", tmp_path / "runs")
    assert code == 1 and f"{tmp_path / 'c' / 'index.csv'}" in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_split_naming_a_clip_twice_is_refused(tiny, tmp_path, capsys):
    cache, split = tiny
    twice = tmp_path / "twice.csv"
    table = pd.read_csv(split, dtype=str)
    pd.concat([table, table.iloc[[0]].assign(part="test")]).to_csv(twice, index=False)
    with pytest.raises(SplitError, match=f"{twice}: names clip.* more than once: {table.clip_key[0]}"):
        load_split(twice)
    code, _, err = run(capsys, "train", "--cache", cache, "--split", twice, "--out", tmp_path / "runs", "--name", "x")
    assert code == 1 and str(twice) in err and table.clip_key[0] in err and err.count("\n") == 1
    assert not (tmp_path / "runs" / "x").exists()


@pytest.mark.usefixtures("one_torch_thread")
def test_named_run_reused_with_another_split_or_cache_is_refused(tiny, tmp_path, capsys):
    cache, split = tiny
    tiny_model = [
        "--set",
        "train.epochs=1",
        "--set",
        "train.warmup_epochs=0",
        "--set",
        "train.batch_size=8",
        "--set",
        "train.device=cpu",
        "--set",
        "train.augment=false",
        "--set",
        "train.precise_bn=false",
        "--set",
        "model.frames=8",
        "--set",
        "model.size=32",
        "--set",
        "model.width=8",
        "--no-progress",
    ]
    runs = tmp_path / "runs"
    assert run(capsys, "train", "--cache", cache, "--split", split, "--out", runs, "--name", "x", *tiny_model)[0] == 0
    finished = {p.name: p.stat().st_mtime_ns for p in (runs / "x").rglob("*") if p.is_file()}
    other_split = write_split(cache, n_train=3, n_val=0, name="other.csv")
    other_cache = write_tiny_cache(tmp_path / "other", subjects=3, clips_per_subject=4, window=12, side=32, seed=1)
    for inputs, what in (
        ([cache, other_split], "split file"),
        ([other_cache, write_split(other_cache, 2, 1)], "cache"),
    ):
        code, _, err = run(
            capsys, "train", "--cache", inputs[0], "--split", inputs[1], "--out", runs, "--name", "x", *tiny_model
        )
        assert code == 1 and err == (
            f"mlib train: {runs / 'x'}: this run folder was trained with another {what}; "
            "choose another run name (--name) or remove the folder\n"
        )
    assert {p.name: p.stat().st_mtime_ns for p in (runs / "x").rglob("*") if p.is_file()} == finished
    assert json.loads((runs / "x" / "data.json").read_text())["split_sha256"]


@pytest.mark.parametrize(
    "code_, message", [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")]
)
def test_full_disk_and_read_only_output_name_the_file(code_, message, tiny, tmp_path, monkeypatch, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))

    def refuse(*_):
        raise OSError(code_, os.strerror(code_))

    monkeypatch.setattr(io.os, "replace", refuse)
    code, _, err = run(capsys, "split", "--cache", cache, "--seed", 3)
    assert code == 1 and err == f"mlib split: {default_split(cache, 3)}: {message}\n"
    assert not [p for p in (cache / "splits").iterdir() if p.name.endswith(".tmp")]


def test_output_folder_that_is_a_file_is_named(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    shutil.rmtree(cache / "splits")
    (cache / "splits").write_text("in the way")
    code, _, err = run(capsys, "split", "--cache", cache)
    assert code == 1 and err.startswith(f"mlib split: {cache / 'splits'}") and err.count("\n") == 1


def test_ctrl_c_is_one_line_and_exit_130(tiny, monkeypatch, capsys):
    import mlib.preprocess.splits

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlib.commands.split, "write_splits", interrupted)
    assert run(capsys, "split", "--cache", tiny[0]) == (130, "", "mlib split: interrupted\n")


def test_debug_shows_the_traceback(corpora, tmp_path, capsys):
    code = cli.main(
        [
            "--debug",
            "prepare",
            "--dataset",
            "casme2",
            "--root",
            str(corpora["casme2"]),
            "--cache-dir",
            str(tmp_path),
            "--margin",
            "-1",
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 1
        and "Traceback" in err
        and "ConfigError" in err
        and err.endswith("mlib prepare: prepare.margin: -1.0 is not allowed; allowed: [0, 2]\n")
    )


def test_prepare_help_lists_only_datasets_that_exist(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["prepare", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "{casme2,samm,smic}" in out and "smic-hs" not in out


def test_face_detection_fallback_is_one_line_per_clip(root_copy, tmp_path, capsys):
    root = root_copy("casme2")
    clip = first_clip(root)
    grey = np.full_like(cv2.imread(clip.frames[0]), 90)
    for frame in (window_frames(clip)[0], Path(clip.frames[clip.frame_numbers.index(clip.apex)])):
        cv2.imwrite(str(frame), grey)
    code, _, err = prepare(capsys, root, tmp_path / "c")
    lines = [line for line in err.splitlines() if "fallback" in line]
    assert code == 0 and lines == [
        f"face detection fallback: {clip.clip_key}: no face on the first or apex frame; centred square of the frame"
    ]
    assert "Warning" not in err and "warn(" not in err


def test_written_files_get_the_users_umask(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    previous = os.umask(0o027)
    try:
        io.write_npy(tmp_path / "array.npy", np.zeros(3))
        assert run(capsys, "split", "--cache", cache, "--seed", 5)[0] == 0
    finally:
        os.umask(previous)
    for path in (tmp_path / "array.npy", default_split(cache, 5)):
        assert path.stat().st_mode & 0o777 == 0o640, path


# -- signals and pipes (a real process) -----------------------------------------------------------


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}


SLOW_PREPARE = """
import signal, sys, time
import mlib.preprocess.cache as cache
from mlib.commands import cli

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if our parent ignores it

original = cache._prepare_clip

def slow(task):
    time.sleep(2.0)
    return original(task)

cache._prepare_clip = slow
sys.exit(cli.main(sys.argv[1:]))
"""


def test_sigint_during_prepare_exits_130_with_one_line_and_leaves_no_index(corpora, tmp_path):
    script = tmp_path / "slow_prepare.py"
    script.write_text(SLOW_PREPARE)
    argv = [
        sys.executable,
        str(script),
        "prepare",
        "--dataset",
        "casme2",
        "--root",
        str(corpora["casme2"]),
        "--cache-dir",
        str(tmp_path / "c"),
        "--window",
        str(WINDOW),
        "--face-size",
        "16",
        "--workers",
        "2",
    ]
    process = subprocess.Popen(
        argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "c").glob("casme2-*/clips/*.npy")) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = process.poll() is None  # the first clip is cached, the others are on their way
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    out, err = process.communicate(timeout=60)
    assert started and process.returncode == 130 and "Traceback" not in err, (started, out, err)
    assert err.strip().splitlines()[-1] == "mlib prepare: interrupted"
    assert not list((tmp_path / "c").rglob("index.csv"))


@pytest.mark.parametrize("command", [["split"], ["--help"]])
def test_closed_pipe_exits_141_without_a_traceback(command, tiny, tmp_path):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    argv = command + (["--cache", str(cache)] if command == ["split"] else [])
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` that has already gone
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mlib.commands.cli", *argv],
            env=_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == ""


# -- third round (issue 24): overrides, profiles, splits, grids and executors, ensembles, Grad-CAM, bench, study

QUICK_MODEL = ["--set", "model.frames=8", "--set", "model.size=32", "--set", "model.width=8", "--set", "model.depth=18"]


class Hang(Exception):
    """Raised by the alarm of ``no_hang``: a command that never returned."""


@pytest.fixture
def no_hang():
    """``no_hang(seconds)``: fail the test (instead of hanging it) when a command runs longer."""

    def alarm(*_):
        raise Hang("the command did not return")

    previous = signal.signal(signal.SIGALRM, alarm)
    yield signal.alarm
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content: what a refused command must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(err: str, start: str) -> None:
    assert err.startswith(start) and err.count("\n") == 1, err


def tiny_grid(tmp_path: Path, spec: dict, name: str = "grid.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def grid_argv(tiny, grid_file: Path, out: Path, *extra) -> list:
    return ["grid", "--grid", grid_file, "--cache", tiny[0], "--split", tiny[1], "--out", out, "--no-progress", *extra]


@pytest.mark.parametrize("value", ["-1", "0"])
def test_grid_max_parallel_below_one_is_refused_not_spun_on(value, tiny, tmp_path, no_hang, capsys):
    grid_file = tiny_grid(tmp_path, {"configurations": [{"label": "a", "set": {"train.epochs": 1}}]})
    no_hang(60)
    code, out, err = run(
        capsys, *grid_argv(tiny, grid_file, tmp_path / "g", "--executor", "local", "--max-parallel", value)
    )
    assert code == 2 and out == "" and err == f"mlib grid: --max-parallel: {value} is not allowed; allowed: >= 1\n"
    assert not (tmp_path / "g").exists()


def test_grid_on_slurm_without_slurm_is_one_line(tiny, tmp_path, monkeypatch, capsys):
    grid_file = tiny_grid(tmp_path, {"configurations": [{"label": "a", "set": {"train.epochs": 1}}]})
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no sbatch, no srun
    code, _, err = run(capsys, *grid_argv(tiny, grid_file, tmp_path / "g", "--executor", "slurm"))
    assert code == 2 and "--executor slurm" in err and "no `sbatch`/`srun` found" in err
    one_line(err, "mlib grid: ")
    assert not (tmp_path / "g").exists()


def test_grid_whose_sbatch_fails_is_one_line_and_trains_nothing(tiny, tmp_path, monkeypatch, capsys):
    """SLURM's tools installed but no cluster: sbatch fails; its complaint is one line, nothing is trained."""
    grid_file = tiny_grid(tmp_path, {"configurations": [{"label": "a", "set": {"train.epochs": 1}}]})
    (tmp_path / "bin").mkdir()
    for tool in ("sbatch", "srun"):
        (tmp_path / "bin" / tool).write_text(
            "#!/bin/sh\necho 'sbatch: fatal: Could not establish a configuration source' >&2\nexit 1\n"
        )
        (tmp_path / "bin" / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run(capsys, *grid_argv(tiny, grid_file, tmp_path / "g", "--executor", "slurm"))
    assert code == 2 and "the scheduler refused the job" in err and "Could not establish a configuration source" in err
    one_line(err, "mlib grid: ")
    assert not list((tmp_path / "g").rglob("metrics.json"))


BENCH_FLAGS = [
    (["--steps", "0"], "bench.steps: 0", ">= 1"),
    (["--steps", "-1"], "bench.steps: -1", ">= 1"),
    (["--batch-size", "0"], "bench.batch_size: 0", ">= 1"),
    (["--warmup", "-2"], "bench.warmup: -2", ">= 0"),
]


@pytest.mark.parametrize("flags, named, allowed", BENCH_FLAGS, ids=[" ".join(f[0]) for f in BENCH_FLAGS])
def test_bench_flags_follow_the_rules_table(flags, named, allowed, tmp_path, capsys):
    code, out, err = run(
        capsys,
        "bench",
        "--profile",
        REPO / "configs/profiles/ci.yaml",
        *QUICK_MODEL,
        "--device",
        "cpu",
        "--out",
        tmp_path / "bench.json",
        *flags,
    )
    assert code == 1 and out == "" and f"allowed: {allowed}" in err
    one_line(err, f"mlib bench: {named} is not allowed")
    assert not (tmp_path / "bench.json").exists()


def test_bench_out_under_a_file_is_named_before_any_work(tmp_path, monkeypatch, capsys):
    import mlib.commands.bench

    a_file = tmp_path / "FILE"
    a_file.write_text("x")
    monkeypatch.setattr(
        mlib.commands.bench, "run_bench", lambda *_, **__: pytest.fail("benchmarked before checking --out")
    )
    code, _, err = run(
        capsys,
        "bench",
        "--profile",
        REPO / "configs/profiles/ci.yaml",
        *QUICK_MODEL,
        "--device",
        "cpu",
        "--steps",
        "1",
        "--out",
        a_file / "x.json",
    )
    assert code == 1 and err == f"mlib bench: {a_file} is a file, not a folder\n"
    assert a_file.read_text() == "x"


def test_split_with_other_sizes_never_overwrites_a_split_in_use(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    assert run(capsys, "split", "--cache", cache)[0] == 0
    used = default_split(cache, 42)  # a finished run's
    before = files_under(cache / "splits")
    assert used.name == "half-test0.5-val0.1-seed42.csv" and used.name in before
    assert run(capsys, "split", "--cache", cache, "--test-size", "0.3")[0] == 0
    other = split_path(cache, "half", 42, 0.3, 0.1)
    after = files_under(cache / "splits")
    assert {k: v for k, v in after.items() if k in before} == before and other.name in after
    assert (load_split_metadata(used)["test_size"], load_split_metadata(used)["val_size"]) == (0.5, 0.1)
    assert (load_split_metadata(other)["test_size"], load_split_metadata(other)["val_size"]) == (0.3, 0.1)


def test_split_val_size_that_cannot_be_met_is_refused(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    before = files_under(cache)
    code, out, err = run(capsys, "split", "--cache", cache, "--val-size", "0.99")
    assert code == 1 and out == "" and "only 3 can validate while every subject keeps a training clip" in err
    one_line(err, "mlib split: split.val_size 0.99: asks for 6 of the 6 non-test clips")
    assert files_under(cache) == before


def test_study_data_root_with_a_synthetic_profile_is_refused(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "EMPTY"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)  # results/ and book/ of a study that started would land here
    code, out, err = run(
        capsys,
        "study",
        "--profile",
        REPO / "configs/profiles/ci.yaml",
        "--data-root",
        empty,
        "--executed",
        tmp_path / "executed",
    )
    assert code == 1 and out == "" and "synthetic profile (study.data: synthetic)" in err
    one_line(err, f"mlib study: --data-root {empty}: names real data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EMPTY"] and not list(empty.iterdir())


def test_study_data_root_that_is_a_file_is_refused(tmp_path, monkeypatch, capsys):
    a_file = tmp_path / "root.txt"
    a_file.write_text("x")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        capsys,
        "study",
        "--profile",
        REPO / "configs/profiles/full.yaml",
        "--data-root",
        a_file,
        "--executed",
        tmp_path / "executed",
    )
    assert code == 1 and "expected the folder holding CASME2/, SAMM/ and SMIC/" in err
    one_line(err, f"mlib study: --data-root {a_file}: a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root.txt"]


def test_study_failure_starts_with_mlib_study(tmp_path, monkeypatch, capsys):
    from mlib.study import notebooks
    from mlib.study import runner as study

    def fail(self):
        raise notebooks.NotebookFailed("notebooks/02-train.py failed in cell 4: ValueError: x")

    monkeypatch.setattr(study.StudyRunner, "run", fail)
    code, _, err = run(capsys, "study", "--profile", REPO / "configs/profiles/ci.yaml", "--executed", tmp_path / "e")
    assert code == 1 and err == "mlib study: notebooks/02-train.py failed in cell 4: ValueError: x\n"


def test_train_with_another_dataset_than_the_cache_is_refused(tiny, tmp_path, capsys):
    cache, split = tiny
    code, _, err = run(
        capsys,
        "train",
        "--cache",
        cache,
        "--split",
        split,
        "--out",
        tmp_path / "runs",
        "--set",
        "data.dataset=samm",
        *QUICK_MODEL,
        "--no-progress",
    )
    assert code == 1 and err == (
        f"mlib train: data.dataset: 'samm', but the cache {cache} holds 'casme2' "
        "(its settings.json); drop the setting or name 'casme2'\n"
    )
    assert not (tmp_path / "runs").exists()


def test_train_on_a_cache_without_settings_is_refused(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    (cache / "settings.json").unlink()
    code, _, err = run(
        capsys,
        "train",
        "--cache",
        cache,
        "--split",
        cache / "splits" / tiny[1].name,
        "--out",
        tmp_path / "runs",
        *QUICK_MODEL,
        "--no-progress",
    )
    assert code == 1 and "missing" in err
    one_line(err, f"mlib train: {cache / 'settings.json'}: ")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "spec, named",
    [
        ({"configurations": []}, "'configurations' is empty"),
        (
            {
                "configurations": [
                    {"label": "twice", "set": {"model.alpha": 4}},
                    {"label": "twice", "set": {"model.alpha": 8}},
                ]
            },
            "configuration label 'twice' is used more than once",
        ),
    ],
    ids=["empty", "duplicate-label"],
)
def test_grid_file_without_configurations_or_with_a_label_twice_is_refused(spec, named, tiny, tmp_path, capsys):
    grid_file = tiny_grid(tmp_path, spec)
    code, _, err = run(capsys, *grid_argv(tiny, grid_file, tmp_path / "g"))
    assert code == 2 and named in err
    one_line(err, f"mlib grid: {grid_file}: ")
    assert not (tmp_path / "g").exists()


def test_grid_blames_set_values_on_set(tiny, tmp_path, capsys):
    grid_file = tiny_grid(tmp_path, {"configurations": [{"label": "a", "set": {"model.alpha": 4}}]})
    code, _, err = run(capsys, *grid_argv(tiny, grid_file, tmp_path / "g", "--set", "train.epochs=0"))
    assert code == 2 and str(grid_file) not in err and "allowed: >= 1" in err
    one_line(err, "mlib grid: --set: train.epochs: 0 is not allowed")
    assert not (tmp_path / "g").exists()


def test_ensemble_of_a_run_with_itself_is_refused(tmp_path, capsys):
    from test_ensemble import random_run

    run_dir = random_run(tmp_path / "A", seed=1)
    code, out, err = run(capsys, "ensemble", "--runs", run_dir, tmp_path / "." / "A", "--out", tmp_path / "e.csv")
    assert (
        code == 2
        and out == ""
        and err == f"mlib ensemble: --runs names {run_dir} more than once; a run cannot vote with itself\n"
    )
    assert not (tmp_path / "e.csv").exists()


@pytest.mark.parametrize("value", ["0", "-1", "some"])
def test_gradcam_figures_below_one_is_refused_before_any_work(value, tmp_path, monkeypatch, capsys):
    from mlib.commands import gradcam as gradcam_cli

    monkeypatch.setattr(
        gradcam_cli, "gradcam_for_run", lambda *_, **__: pytest.fail("maps computed before --figures was checked")
    )
    code, _, err = run(capsys, "gradcam", tmp_path / "run", "--figures", value, "--out", tmp_path / "out")
    assert code == 1 and "allowed: " in err and ">= 1" in err
    one_line(err, "mlib gradcam: --figures: ")
    assert not (tmp_path / "out").exists() and gradcam_cli.figure_count("all") is None


@pytest.mark.parametrize(
    "flags",
    [["--twin-group", "4", "--subjects", "3"], ["--twin-group", "3", "--subjects", "3", "--single-clip-subjects", "0"]],
)
def test_synth_twins_with_one_group_is_refused(flags, tmp_path, capsys):
    code, out, err = run(capsys, "synth", "--mode", "twins", *flags, "--out", tmp_path / "c", "--workers", "1")
    assert code == 1 and out == "" and "puts every subject on one face" in err
    one_line(err, "mlib synth: synth.twin_group ")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("where", ["profile", "grid"])
def test_yaml_syntax_error_is_one_line_with_file_and_line(where, tiny, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: 1\n  lr: [0.1, 0.2\nmodel:\n  alpha: 4\n")
    argv = (
        ["train", "--profile", bad, "--cache", tiny[0], "--split", tiny[1], "--out", tmp_path / "runs"]
        if where == "profile"
        else grid_argv(tiny, bad, tmp_path / "runs")
    )
    code, _, err = run(capsys, *argv)
    assert code in (1, 2) and "line 4, column 6: expected ',' or ']'" in err and "from line 3" in err
    one_line(err, f"mlib {argv[0]}: {bad}: not valid YAML: line 4")
    assert not (tmp_path / "runs").exists()


def test_malformed_override_is_one_line_naming_it(tiny, tmp_path, capsys):
    code, _, err = run(
        capsys, "train", "--cache", tiny[0], "--split", tiny[1], "--out", tmp_path / "runs", "--set", "train.lr=[1, 2"
    )
    assert code == 1 and "line 1, column 6: expected ',' or ']'" in err
    one_line(err, "mlib train: override 'train.lr=[1, 2': the value is not valid YAML: ")
    assert not (tmp_path / "runs").exists()


def test_truncated_cached_clip_is_named(tiny, tmp_path, capsys):
    cache = Path(shutil.copytree(tiny[0], tmp_path / "cache"))
    split = cache / "splits" / tiny[1].name
    first = cache / pd.read_csv(cache / "index.csv")["cache_file"][0]
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    code, _, err = run(
        capsys, "train", "--cache", cache, "--split", split, "--out", tmp_path / "runs", *QUICK_MODEL, "--no-progress"
    )
    assert code == 1 and "truncated" in err
    one_line(err, f"mlib train: {first}: not a readable .npy clip")
    assert not (tmp_path / "runs").exists()


def test_truncated_predictions_csv_is_named(tmp_path, capsys):
    from test_ensemble import random_run

    runs = [random_run(tmp_path / name, seed=seed) for name, seed in (("A", 1), ("B", 2))]
    predictions = runs[0] / "predictions.csv"
    text = predictions.read_text()
    predictions.write_text(text[: len(text) - 30])  # cut inside the last row
    code, _, err = run(capsys, "ensemble", "--runs", *runs, "--out", tmp_path / "e.csv")
    assert code == 2 and "empty or non-numeric probability" in err
    one_line(err, f"mlib ensemble: {predictions}: line ")
    assert not (tmp_path / "e.csv").exists()
