"""Preprocessing: face boxes, window placement, the clip cache and its resume behaviour."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data

from mlib.preprocess import (
    detect_face,
    expand_box,
    load_clip,
    load_index,
    place_window,
    prepare_cache,
    run_prepare,
    window_frame_numbers,
    window_position,
)
from mlib.preprocess.cache import INDEX_COLUMNS
from mlib.preprocess.cache_settings import read_cache_settings
from mlib.preprocess.faces import centre_square

SETTINGS = dict(dataset="casme2", window=8, face_size=32, margin=0.15, workers=1, progress=False)


# -- faces ---------------------------------------------------------------------------------------


def test_haar_finds_the_astronaut_face():
    x, y, w, h = detect_face(data.astronaut())
    assert abs(x - 177) <= 10 and abs(y - 66) <= 10 and 80 <= w <= 110 and w == h


def test_no_face_on_a_blank_frame():
    assert detect_face(np.full((120, 160, 3), 90, np.uint8)) is None


def test_margin_box_is_square_and_grows_by_margin_on_each_side():
    assert expand_box((50, 40, 20, 20), 0.25, (200, 200)) == (45, 35, 30, 30)
    assert expand_box((50, 40, 20, 10), 0.0, (200, 200)) == (50, 35, 20, 20)


def test_margin_box_is_kept_inside_the_frame():
    x, y, w, h = expand_box((0, 0, 40, 40), 0.5, (100, 150))
    assert (x, y) == (0, 0) and w == h == 80
    x, y, w, h = expand_box((120, 70, 30, 30), 0.5, (100, 150))
    assert x + w == 150 and y + h == 100 and w == h == 60
    assert expand_box((10, 10, 90, 90), 0.5, (100, 150)) == (5, 0, 100, 100)  # shrunk to the shorter side
    assert centre_square((100, 150)) == (25, 0, 100, 100)


# -- window --------------------------------------------------------------------------------------


def real_numbers(numbers, win):
    return [numbers[p] for p in win.positions]


def test_window_centred_on_apex_inside_onset_offset():
    numbers = list(range(100, 300))
    win = place_window(numbers, onset=120, apex=200, offset=260, window=64)
    assert real_numbers(numbers, win)[32] == 200
    assert (numbers[win.start], numbers[win.end], win.pad_before, win.pad_after) == (168, 231, 0, 0)


def test_window_shifted_to_stay_inside_onset_offset_when_apex_near_an_end():
    numbers = list(range(100, 300))
    win = place_window(numbers, onset=120, apex=125, offset=200, window=64)
    assert numbers[win.start] == 120 and numbers[win.end] == 183
    win = place_window(numbers, onset=120, apex=198, offset=200, window=64)
    assert numbers[win.start] == 137 and numbers[win.end] == 200


def test_short_span_uses_the_clip_around_it():
    numbers = list(range(0, 100))
    win = place_window(numbers, onset=40, apex=45, offset=60, window=64)  # span 21 < 64
    assert (win.start, win.end) == (13, 76) and win.positions[32] == 45
    win = place_window(numbers, onset=2, apex=5, offset=20, window=64)  # apex near the clip start
    assert (win.start, win.end, win.pad_before, win.pad_after) == (0, 63, 0, 0)
    win = place_window(numbers, onset=80, apex=97, offset=99, window=64)  # apex near the clip end
    assert (win.start, win.end) == (36, 99)


def test_clip_shorter_than_window_is_padded_with_its_end_frames():
    numbers = list(range(10, 30))  # 20 frames
    win = place_window(numbers, onset=10, apex=20, offset=29, window=64)
    assert win.length == 64 and (win.start, win.end) == (0, 19)
    assert win.pad_before == 22 and win.pad_after == 22 and win.positions[32] == 10
    assert win.positions[:23] == [0] * 23 and win.positions[-23:] == [19] * 23
    early = place_window(numbers, onset=10, apex=11, offset=29, window=64)
    assert early.pad_before == 31 and early.positions[32] == 1
    late = place_window(numbers, onset=10, apex=29, offset=29, window=8)
    assert late.length == 8 and late.positions == list(range(12, 20))


def test_end_padding_repeats_the_last_frame_after_the_clip_as_the_original():
    numbers = list(range(10, 30))  # 20 frames, apex at position 10
    win = place_window(numbers, onset=10, apex=20, offset=29, window=64, pad="end")
    assert (win.pad_before, win.pad_after, win.length) == (0, 44, 64)
    assert win.positions == list(range(20)) + [19] * 44  # the original: frames_list + [frames_list[-1]] * pad_number
    assert win.positions.index(win.apex_pos) == 10  # the apex stays where it falls, not at window frame 32
    symmetric = place_window(numbers, onset=10, apex=20, offset=29, window=64, pad="symmetric")
    assert symmetric.positions == [0] * 22 + list(range(20)) + [19] * 22 and symmetric.positions[32] == win.apex_pos
    long = list(range(100))  # a clip that fills the window is never padded, whatever the rule
    assert place_window(long, 0, 50, 99, 64, pad="end") == place_window(long, 0, 50, 99, 64, pad="symmetric")
    with pytest.raises(ValueError, match="padding rule 'start'"):
        place_window(numbers, 10, 20, 29, 64, pad="start")


def test_the_padding_setting_follows_the_split_protocols_source():
    from mlib.datasets.window import pad_rule

    assert [pad_rule("protocol", p) for p in ("half", "kay2023", "kay2023-original")] == ["symmetric", "end", "end"]
    assert pad_rule("symmetric", "kay2023") == "symmetric" and pad_rule("end", "half") == "end"
    with pytest.raises(ValueError, match="prepare.pad 'middle'"):
        pad_rule("middle", "half")


def test_frame_number_gaps_count_positions_not_numbers():
    numbers = [1, 2, 3, 10, 11, 12, 13, 20, 21, 22]
    win = place_window(numbers, onset=2, apex=12, offset=21, window=4)
    assert real_numbers(numbers, win) == [10, 11, 12, 13]
    win = place_window(numbers, onset=4, apex=15, offset=19, window=4)  # annotated frames missing on disk
    assert (win.onset_pos, win.apex_pos, win.offset_pos) == (3, 6, 6)


def test_frame_numbers_and_positions_in_a_cached_window():
    row = dict(window_start=101, window_end=164, apex=140, pad_before=0, pad_after=0)
    assert window_position(row, 64, row["apex"]) == 39
    padded = dict(clip_key="c", window_start=1, window_end=40, pad_before=20, pad_after=4)
    numbers = window_frame_numbers(padded, 64)
    assert numbers[:21].tolist() == [1] * 21 and numbers[59:].tolist() == [40] * 5 and numbers[29] == 10
    assert window_position(padded, 64, 10) == 29
    # Rule 5: a frame repeated by the padding is found at its real copy, not at the first padded one.
    assert window_position(padded, 64, 1) == 20 and window_position(padded, 64, 40) == 59
    assert window_position(padded, 64, 500) == 59 and window_position(padded, 64, -3) == 20  # outside: the ends
    gaps = dict(window_start=50, window_end=55, pad_before=2, pad_after=0)
    assert window_frame_numbers(gaps, 8).tolist() == [50, 50, 50, 51, 52, 53, 54, 55]
    with pytest.raises(ValueError, match="clip c: pad_before 40 .* leave no real frame"):
        window_frame_numbers({**padded, "pad_before": 40, "pad_after": 24}, 64)


def test_window_rejects_unordered_frames():
    with pytest.raises(ValueError, match="increasing"):
        place_window([3, 2, 1], 1, 2, 3, 4)


# -- cache ---------------------------------------------------------------------------------------


@pytest.fixture
def clips(make_clip):
    rows = [
        make_clip("01", "EP01_1", range(1, 13), onset=2, apex=6, offset=11, at=(10, 5)),
        make_clip("01", "EP02_2", range(50, 56), onset=50, apex=53, offset=55, at=(40, 8)),  # shorter than W
        make_clip("02", "EP03_3", [1, 2, 3, 7, 8, 9, 10, 11, 12, 13], onset=2, apex=8, offset=13, at=(50, 2)),
    ]
    return pd.DataFrame(rows)


def mtimes(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_cache_arrays_index_and_rerun(clips, tmp_path):
    cache = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    index = load_index(cache)
    assert list(index.columns) == INDEX_COLUMNS
    assert index["subject"].tolist() == ["01", "01", "02"]
    assert index["detector"].tolist() == ["haar"] * 3
    assert index.loc[1, ["pad_before", "pad_after", "window_start", "window_end"]].tolist() == [1, 1, 50, 55]
    assert index.loc[2, ["window_start", "window_end"]].tolist() == [2, 12]  # positions 1..8: inside onset..offset
    # the box covers the pasted face (52 px at x = 98..150) with the margin, inside the 160 x 120 frame
    box = index.loc[2, ["box_x", "box_y", "box_w", "box_h"]].tolist()
    assert box[2] == box[3] and 55 <= box[2] <= 80 and 75 <= box[0] <= 100 and box[0] + box[2] <= 160
    array = load_clip(cache, "casme2_01_EP02_2")
    assert array.dtype == np.uint8 and array.shape == (8, 32, 32, 3)
    assert np.array_equal(array[0], array[1]) and np.array_equal(array[-1], array[-2])  # padding repeats
    assert np.array_equal(load_clip(cache, index.iloc[0]), np.load(cache / "clips/casme2_01_EP01_1.npy"))
    assert array[..., 0].mean() > array[..., 2].mean()  # RGB order: the astronaut's face is reddish

    before = mtimes(cache)
    result = run_prepare(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    assert result.was_complete and result.path == cache and mtimes(cache) == before


def test_killed_run_resumes_with_identical_arrays(clips, tmp_path):
    cache = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    arrays = {key: load_clip(cache, key) for key in clips["clip_key"]}
    index_text = (cache / "index.csv").read_text()
    kept = cache / "clips/casme2_01_EP01_1.npy"
    kept_mtime = kept.stat().st_mtime_ns
    (cache / "index.csv").unlink()
    (cache / "clips/casme2_02_EP03_3.npy").unlink()
    stray = cache / "clips/.casme2_02_EP03_3.npy.abc123.tmp"
    stray.write_bytes(b"\x93NUMPY truncated")

    result = run_prepare(
        clips,
        tmp_path / "cache",
        root=tmp_path / "root",
        workers=2,
        **{k: v for k, v in SETTINGS.items() if k != "workers"},
    )
    assert result.path == cache and result.reused == 2 and result.frames == 8
    assert not stray.exists() and kept.stat().st_mtime_ns == kept_mtime
    assert (cache / "index.csv").read_text() == index_text
    for key, array in arrays.items():
        assert np.array_equal(load_clip(cache, key), array)


def test_changed_settings_make_a_new_cache(clips, tmp_path):
    first = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    other = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **{**SETTINGS, "margin": 0.3})
    assert first != other and first.name.startswith("casme2-")
    assert load_index(other)["box_w"].iloc[0] > load_index(first)["box_w"].iloc[0]
    end = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **{**SETTINGS, "pad": "end"})
    assert end not in (first, other)  # the padding rule is part of the cache key
    assert "pad" not in read_cache_settings(first) and read_cache_settings(end)["pad"] == "end"  # older keys stay
    short = load_index(first)["clip_key"] == "casme2_01_EP02_2"  # 6 frames, apex at position 3, window 8
    assert load_index(first).loc[short, ["pad_before", "pad_after"]].values.tolist() == [[1, 1]]
    assert load_index(end).loc[short, ["pad_before", "pad_after"]].values.tolist() == [[0, 2]]
    moved = clips.copy()
    moved.loc[0, "apex"] = 9  # a fixed erratum changes the windows
    assert prepare_cache(moved, tmp_path / "cache", root=tmp_path / "root", **SETTINGS) not in (first, other)


def test_cropped_release_uses_whole_frames(make_clip, tmp_path):
    clips = pd.DataFrame([make_clip("03", "EP09", range(1, 6), onset=1, apex=3, offset=5, face=False)])
    cache = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", cropped=True, **SETTINGS)
    row = load_index(cache).iloc[0]
    assert row["detector"] == "cropped"
    assert [row.box_x, row.box_y, row.box_w, row.box_h] == [0, 0, 160, 120]
    assert load_clip(cache, row).shape == (8, 32, 32, 3)


def test_no_face_falls_back_with_one_line(make_clip, tmp_path, capsys):
    clips = pd.DataFrame([make_clip("04", "EP10", range(1, 6), onset=1, apex=3, offset=5, face=False)])
    result = run_prepare(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "face detection fallback: casme2_04_EP10: no face on the first or apex frame; centred square of the frame"
    )
    row = load_index(result.path).iloc[0]
    assert row["detector"] == "fallback" and [row.box_x, row.box_y, row.box_w, row.box_h] == [20, 0, 120, 120]
    assert result.fallbacks == ["casme2_04_EP10: no face on the first or apex frame; centred square of the frame"]


def test_no_face_on_the_first_frame_takes_the_apex_frame_box(make_clip, tmp_path, capsys):
    row = make_clip("06", "EP12", range(1, 10), onset=1, apex=5, offset=9, at=(30, 4))
    blank = np.full((120, 160, 3), 90, np.uint8)
    cv2.imwrite(row["frames"][0], blank)  # the window (8 of 9 frames, apex 5 at window frame 4) starts at frame 1
    result = run_prepare(pd.DataFrame([row]), tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    assert "box from the apex frame" in capsys.readouterr().err
    index = load_index(result.path).iloc[0]
    assert index["window_start"] == 1 and index["detector"] == "fallback"
    assert (
        95 <= index["box_x"] + index["box_w"] / 2 <= 110
    )  # on the pasted face (centre x ~ 102), not the frame centre (80)


def test_unreadable_frame_is_an_error_naming_the_file(make_clip, tmp_path):
    row = make_clip("05", "EP11", range(1, 6), onset=1, apex=3, offset=5)
    open(row["frames"][2], "wb").close()
    with pytest.raises(RuntimeError, match=r"img3\.jpg: empty file"):
        prepare_cache(pd.DataFrame([row]), tmp_path / "cache", root=tmp_path / "root", **SETTINGS)


def test_clip_table_without_contract_columns_is_refused(clips, tmp_path):
    with pytest.raises(ValueError, match="frame_numbers"):
        prepare_cache(clips.drop(columns="frame_numbers"), tmp_path / "cache", root=tmp_path, **SETTINGS)


def test_empty_clip_table_is_refused(clips, tmp_path):
    with pytest.raises(ValueError, match="no clips"):
        prepare_cache(clips.iloc[:0], tmp_path / "cache", root=tmp_path, **SETTINGS)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.csv: missing; .* is not a complete cache"):
        load_index(tmp_path)
    pd.DataFrame([{"clip_key": "a", "subject": "01"}]).to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(ValueError, match=r"index.csv: lacks columns \['dataset', 'clip'"):
        load_index(tmp_path)


# -- mlib prepare on a corpus in the CASME II layout ---------------------------------------------


@pytest.fixture(scope="module")
def casme2_root(tmp_path_factory):
    """A tiny synthetic corpus written by mlib synth in the real CASME II layout (spreadsheet + img*.jpg)."""
    from mlib.synth import corpus_specs
    from mlib.synth.layouts import write_corpus

    root = tmp_path_factory.mktemp("casme2")
    specs = corpus_specs(subjects=2, clips_per_subject=2, single_clip_subjects=0, short_clip_fraction=0.0,
                         frame_size=(120, 160), fps=200, seed=1)  # fmt: skip
    return write_corpus(root, "casme2", specs, workers=1, progress=False)


def run_cli(argv):
    from mlib.commands import cli

    return cli.main(["prepare", *argv, "--window", "8", "--face-size", "32", "--workers", "1", "--no-progress"])


def test_prepare_command_caches_a_casme2_root(casme2_root, tmp_path, capsys):
    assert run_cli(["--dataset", "casme2", "--root", str(casme2_root), "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "prepared 4 clip(s), kept 0 already cached: 32 frames" in out[0] and "frames/s" in out[0]
    cache = tmp_path / out[-1].rsplit("/", 1)[-1]
    index = load_index(cache)
    assert sorted(index["subject"]) == ["01", "01", "02", "02"] and set(index["detector"]) == {"haar"}
    assert run_cli(["--dataset", "casme2", "--root", str(casme2_root), "--cache-dir", str(tmp_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_prepare_command_pads_by_the_rule_of_the_split_protocol_it_prepares_for(casme2_root, tmp_path, capsys):
    caches = []
    for extra in ([], ["--split-protocol", "kay2023-original"], ["--split-protocol", "kay2023", "--pad", "symmetric"]):
        assert run_cli(["--dataset", "casme2", "--root", str(casme2_root), "--cache-dir", str(tmp_path), *extra]) == 0
        caches.append(tmp_path / capsys.readouterr().out.strip().splitlines()[-1].rsplit("/", 1)[-1])
    assert [read_cache_settings(c).get("pad", "symmetric") for c in caches] == ["symmetric", "end", "symmetric"]
    assert caches[0] == caches[2] != caches[1]


def test_prepare_command_skips_clips_with_errors_and_refuses_when_none_is_left(casme2_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(casme2_root, root)
    folders = sorted((root / "CASME2_RAW_selected").glob("sub*/*"))
    shutil.rmtree(folders[0])
    assert run_cli(["--dataset", "casme2", "--root", str(root), "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "skipping 1 annotation row(s)/clip(s) with errors" in out and folders[0].name in out
    assert len(load_index(out.strip().splitlines()[-1])) == 3
    for folder in folders[1:]:
        shutil.rmtree(folder)
    assert run_cli(["--dataset", "casme2", "--root", str(root), "--cache-dir", str(tmp_path / "c")]) == 1
    assert "no usable clip" in capsys.readouterr().err


def test_prepare_command_on_the_cropped_release_layout(casme2_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(casme2_root, root)
    raw = root / "CASME2_RAW_selected"
    for frame in raw.rglob("img*.jpg"):
        frame.rename(frame.with_name("reg_" + frame.name))
    raw.rename(root / "Cropped")
    assert run_cli(["--dataset", "casme2", "--root", str(root), "--cache-dir", str(tmp_path / "c"), "--cropped"]) == 0
    cache = capsys.readouterr().out.strip().splitlines()[-1]
    index = load_index(cache)
    assert set(index["detector"]) == {"cropped"} and set(index["box_w"]) == {160} and set(index["box_h"]) == {120}
    assert load_clip(cache, index.iloc[0]).shape == (8, 32, 32, 3)


def test_data_plots_show_the_cached_box_and_window(clips, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Rectangle

    from mlib.plots.data import crop_montage, window_timeline

    cache = prepare_cache(clips, tmp_path / "cache", root=tmp_path / "root", **SETTINGS)
    row = load_index(cache).iloc[1]  # the padded clip
    clip = clips.iloc[1]
    montage = crop_montage(clip, row)
    boxes = [p for ax in montage.axes for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 3 and boxes[0].get_xy() == (row.box_x, row.box_y) and boxes[0].get_width() == row.box_w
    assert [ax.get_title() for ax in montage.axes] == ["onset: frame 50", "apex: frame 53", "offset: frame 55"]
    timeline = window_timeline(clip, row)
    assert "8-frame window, frames 50..55, padding 1 + 1" in timeline.axes[0].get_title()
    labels = timeline.axes[0].get_legend_handles_labels()[1]
    assert "padding (repeated end frame)" in labels and "apex (frame 53)" in labels
