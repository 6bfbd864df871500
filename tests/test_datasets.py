"""Database adapters on corpora written in the real layouts, one crafted spreadsheet per erratum, and mlib validate."""

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from tiny_caches import write_layout_corpora

from mlib.commands import cli
from mlib.datasets import CLIP_COLUMNS, DATASETS, load_dataset, validation_report
from mlib.datasets.base import DatasetError
from mlib.synth.layouts import LAYOUTS, TRUTH_DIR

SUBJECT_WIDTH = {"casme2": 2, "samm": 3, "smic": 2}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """One 3 subjects x 3 clips corpus per layout, frames 96x128."""
    return write_layout_corpora(
        tmp_path_factory.mktemp("corpora"),
        subjects=3,
        clips_per_subject=3,
        frame_size=(96, 128),
        short_clip_fraction=0.2,
        seed=0,
    )


@pytest.fixture
def root_copy(corpora, tmp_path):
    """A private copy of a corpus a test may damage."""

    def copy(layout):
        return Path(shutil.copytree(corpora[layout], tmp_path / layout))

    return copy


def sheet_path(root: Path, layout: str) -> Path:
    return root / DATASETS[layout].annotation


def edit_sheet(path: Path, edit) -> None:
    """Open the workbook, hand ``edit(sheet, header_row, column_index_by_name)`` the first sheet, save."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header_row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "Subject")
    columns = {sheet.cell(header_row, c).value: c for c in range(1, sheet.max_column + 1)}
    edit(sheet, header_row, columns)
    workbook.save(path)


def set_cell(path: Path, excel_row: int, column: str, value) -> None:
    edit_sheet(path, lambda sheet, _, cols: sheet.cell(excel_row, cols[column], value))


def problems_of(result, severity):
    return [p for p in result.problems if p.severity == severity]


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_adapter_reads_its_layout_into_the_clip_table(corpora, layout):
    root = corpora[layout]
    result = load_dataset(layout, root)
    clips = result.clips
    truth = pd.read_csv(root / TRUTH_DIR / "truth.csv", dtype={"subject": str})
    assert result.problems == []
    assert list(clips.columns) == CLIP_COLUMNS
    assert len(clips) == 9 and clips["clip_key"].is_unique
    assert sorted(clips["clip_key"]) == sorted(truth["clip_key"])
    assert all(len(s) == SUBJECT_WIDTH[layout] and s.isdigit() for s in clips["subject"])
    assert clips["subject"].nunique() == 3
    assert set(clips["dataset"]) == {layout} and set(clips["fps"]) == {LAYOUTS[layout].fps}
    for clip in clips.itertuples():
        names = [Path(p).name for p in clip.frames]
        assert clip.frame_numbers == [int(re.search(r"(\d+)\.jpg$", n).group(1)) for n in names]
        assert clip.frame_numbers[0] > 1 and clip.frame_numbers == sorted(clip.frame_numbers)
        assert clip.onset in clip.frame_numbers and clip.offset in clip.frame_numbers
        assert clip.onset <= clip.apex <= clip.offset
        assert Path(clip.frame_dir).name == clip.clip
        assert Path(clip.source_file).name == DATASETS[layout].annotation
        assert clip.notes == "" and clip.emotion
    if layout == "smic":
        assert set(clips["apex_source"]) == {"midpoint"}
        assert (clips["apex"] == (clips["onset"] + clips["offset"]) // 2).all()
    else:
        assert set(clips["apex_source"]) == {"annotated"}
        merged = clips.merge(truth, on="clip_key", suffixes=("", "_truth"))
        assert (merged["apex"] == merged["apex_truth"]).all()


def test_samm_header_is_found_below_the_preamble_and_rows_keep_their_excel_numbers(root_copy):
    root = root_copy("samm")
    assert load_dataset("samm", root).clips["source_row"].min() == 15  # header on Excel row 14
    edit_sheet(sheet_path(root, "samm"), lambda sheet, header, cols: sheet.insert_rows(1, amount=3))
    clips = load_dataset("samm", root).clips
    assert len(clips) == 9 and clips["source_row"].min() == 18


def test_midpoint_rule_is_available_for_every_dataset(corpora):
    clips = load_dataset("casme2", corpora["casme2"], apex_rule="midpoint").clips
    assert set(clips["apex_source"]) == {"midpoint"}
    assert (clips["apex"] == (clips["onset"] + clips["offset"]) // 2).all()


def test_slash_apex_is_fixed_to_the_midpoint_with_a_note(root_copy):
    root = root_copy("casme2")
    set_cell(sheet_path(root, "casme2"), 3, "ApexFrame", "/")
    result = load_dataset("casme2", root)
    row = result.clips.set_index("source_row").loc[3]
    assert row.apex == (row.onset + row.offset) // 2 and row.apex_source == "fixed: midpoint"
    assert "not a frame number" in row.notes
    [fixed] = problems_of(result, "fixed")
    assert (Path(fixed.file).name, fixed.row, fixed.clip_key) == ("CASME2-coding-20140508.xlsx", 3, row.clip_key)
    assert not result.has_errors


def test_apex_outside_onset_offset_is_replaced_by_the_midpoint(root_copy):
    root = root_copy("samm")
    clips = load_dataset("samm", root).clips.set_index("source_row")
    set_cell(sheet_path(root, "samm"), 16, "Apex Frame", int(clips.loc[16].offset) + 2)
    result = load_dataset("samm", root)
    row = result.clips.set_index("source_row").loc[16]
    assert row.apex == (row.onset + row.offset) // 2 and row.apex_source == "fixed: midpoint"
    assert [(p.severity, p.row) for p in result.problems] == [("fixed", 16)]
    assert "outside onset..offset" in result.problems[0].message


def test_onset_after_offset_is_an_error_for_that_row_only(root_copy):
    root = root_copy("casme2")
    clips = load_dataset("casme2", root).clips.set_index("source_row")
    set_cell(sheet_path(root, "casme2"), 4, "OnsetFrame", int(clips.loc[4].offset) + 1)
    result = load_dataset("casme2", root)
    assert 4 not in set(result.clips["source_row"]) and len(result.clips) == 8
    [error] = problems_of(result, "error")
    assert error.row == 4 and error.clip_key == clips.loc[4].clip_key and "after offset" in error.message
    assert result.has_errors


def test_annotated_frame_missing_on_disk_moves_to_a_near_frame_or_errors(root_copy):
    root = root_copy("casme2")
    clips = load_dataset("casme2", root).clips.set_index("source_row")
    onset_file = Path(clips.loc[2].frames[clips.loc[2].frame_numbers.index(clips.loc[2].onset)])
    onset_file.unlink()
    set_cell(sheet_path(root, "casme2"), 3, "OffsetFrame", int(clips.loc[3].frame_numbers[-1]) + 50)
    result = load_dataset("casme2", root)
    moved = result.clips.set_index("source_row").loc[2]
    # both neighbours are one frame away; ties go to the lower frame number
    assert moved.onset == clips.loc[2].onset - 1 and "moved to the nearest frame" in moved.notes
    assert any(p.severity == "warning" and "gap" in p.message and p.row == 2 for p in result.problems)
    errors = problems_of(result, "error")
    assert [(e.row, "not on disk" in e.message) for e in errors] == [(3, True)]


def test_gap_in_frame_numbers_is_a_warning_and_frames_follow_file_numbers(root_copy):
    root = root_copy("smic")
    clip = load_dataset("smic", root).clips.iloc[0]
    middle = clip.frame_numbers[len(clip.frame_numbers) // 3]
    Path(clip.frames[len(clip.frame_numbers) // 3]).unlink()
    result = load_dataset("smic", root)
    again = result.clips.set_index("clip_key").loc[clip.clip_key]
    assert middle not in again.frame_numbers and len(again.frames) == len(clip.frames) - 1
    kinds = [(p.severity, p.clip_key) for p in result.problems]
    assert ("warning", clip.clip_key) in kinds and not result.has_errors
    assert any("gap" in p.message and str(middle - 1) in p.message for p in result.problems)


def test_missing_folder_is_an_error_and_unannotated_folder_a_warning(root_copy):
    root = root_copy("casme2")
    clips = load_dataset("casme2", root).clips.set_index("source_row")
    shutil.rmtree(clips.loc[2].frame_dir)
    edit_sheet(sheet_path(root, "casme2"), lambda sheet, header, cols: sheet.delete_rows(5))
    result = load_dataset("casme2", root)
    [error] = problems_of(result, "error")
    assert error.row == 2 and "missing" in error.message and error.clip_key == clips.loc[2].clip_key
    [warning] = problems_of(result, "warning")
    assert warning.file == clips.loc[5].frame_dir and warning.row is None and "no row" in warning.message
    assert len(result.clips) == 7


def test_extra_unnamed_columns_and_numeric_subject_ids_are_read(root_copy):
    root = root_copy("casme2")

    def add_columns(sheet, header, cols):
        sheet.insert_cols(3)
        for r in range(header + 1, sheet.max_row + 1):
            sheet.cell(r, 3, "x")
            sheet.cell(r, 1, int(sheet.cell(r, 1).value))  # some releases store Subject as a number
        sheet.cell(header + 1, sheet.max_column + 1, 7)  # a value under no header at all

    edit_sheet(sheet_path(root, "casme2"), add_columns)
    result = load_dataset("casme2", root)
    assert result.problems == [] and len(result.clips) == 9
    assert sorted(result.clips["subject"].unique()) == ["01", "02", "03"]


def test_unreadable_image_is_an_error_naming_the_file(root_copy):
    root = root_copy("samm")
    clip = load_dataset("samm", root).clips.iloc[0]
    apex_file = Path(clip.frames[clip.frame_numbers.index(clip.apex)])
    apex_file.write_bytes(b"not a jpeg")
    result = load_dataset("samm", root)
    [error] = problems_of(result, "error")
    assert (
        error.file == str(apex_file)
        and "006_" in error.message
        and "not a JPEG file" in error.message
        and error.row == clip.source_row
    )
    assert clip.clip_key not in set(result.clips["clip_key"])


def test_smic_extra_micro_expressions_and_frame_range_mismatch_are_warnings(root_copy):
    root = root_copy("smic")
    sheet = sheet_path(root, "smic")
    set_cell(sheet, 2, "Onset2F", 5)
    set_cell(sheet, 3, "FirstF", 1)
    result = load_dataset("smic", root)
    messages = {p.row: p.message for p in result.problems}
    assert [p.severity for p in result.problems] == ["warning", "warning"]
    assert "Onset2F..Offset2F" in messages[2] and "FirstF..LastF 1.." in messages[3]
    assert len(result.clips) == 9


def test_report_lists_counts_and_problems_with_file_and_row(root_copy):
    root = root_copy("casme2")
    set_cell(sheet_path(root, "casme2"), 3, "ApexFrame", "/")
    text = validation_report(load_dataset("casme2", root))
    assert "3 subjects, 9 clips" in text and "clips per subject: 01:3 02:3 03:3" in text
    assert re.search(r"fixed \(1\):\n  CASME2-coding-20140508\.xlsx row 3 \[casme2_\d\d_EP\w+\]: ApexFrame '/'", text)


def run_validate(capsys, *args):
    code = cli.main(["validate", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_exit_codes_and_messages(corpora, root_copy, tmp_path, capsys):
    code, out, _ = run_validate(capsys, "--dataset", "smic", "--root", str(corpora["smic"]))
    assert code == 0 and "3 subjects, 9 clips (apex rule: midpoint)" in out

    code, _, err = run_validate(capsys, "--dataset", "casme2", "--root", str(corpora["samm"]))
    assert code == 2 and "expected the frame folder CASME2_RAW_selected/" in err and "Traceback" not in err
    code, _, err = run_validate(capsys, "--dataset", "samm", "--root", str(tmp_path / "nowhere"))
    assert code == 2 and "no such folder" in err

    root = root_copy("casme2")
    sheet_path(root, "casme2").rename(root / "renamed.xlsx")
    code, _, err = run_validate(capsys, "--dataset", "casme2", "--root", str(root))
    assert code == 2 and "missing annotation spreadsheet CASME2-coding-20140508.xlsx" in err

    (root / "renamed.xlsx").rename(sheet_path(root, "casme2"))
    edit_sheet(sheet_path(root, "casme2"), lambda sheet, header, cols: sheet.cell(header, cols["OnsetFrame"], "Onset"))
    code, _, err = run_validate(capsys, "--dataset", "casme2", "--root", str(root))
    assert code == 2 and "missing column(s) OnsetFrame" in err and "CASME2-coding-20140508.xlsx" in err

    edit_sheet(sheet_path(root, "casme2"), lambda sheet, header, cols: sheet.cell(header, cols["Onset"], "OnsetFrame"))
    clip = load_dataset("casme2", root).clips.iloc[0]
    apex_file = Path(clip.frames[clip.frame_numbers.index(clip.apex)])
    apex_file.write_bytes(b"")
    code, out, err = run_validate(capsys, "--dataset", "casme2", "--root", str(root))
    assert code == 1 and f"{apex_file.name}: empty file" in out and "1 error(s)" in err


def test_annotation_is_found_below_the_root_and_bad_arguments_are_refused(root_copy):
    root = root_copy("smic")
    sheet = sheet_path(root, "smic")
    sheet.rename(root / "SMIC-E_raw image" / "HS_long" / sheet.name)
    assert len(load_dataset("smic", root).clips) == 9
    with pytest.raises(DatasetError, match="apex rule 'peak'"):
        load_dataset("smic", root, apex_rule="peak")
    with pytest.raises(DatasetError, match="unknown dataset 'casme'"):
        load_dataset("casme", root)


def test_casme2_cropped_release_layout_is_read_with_cropped(root_copy):
    root = root_copy("casme2")
    raw = root / "CASME2_RAW_selected"
    for frame in raw.rglob("img*.jpg"):
        frame.rename(frame.with_name("reg_" + frame.name))
    raw.rename(root / "Cropped")
    with pytest.raises(DatasetError, match="expected the frame folder CASME2_RAW_selected/"):
        load_dataset("casme2", root)
    clips = load_dataset("casme2", root, cropped=True).clips
    assert len(clips) == 9 and all(Path(p).name.startswith("reg_img") for p in clips.iloc[0].frames)
    assert clips.iloc[0].frame_numbers[0] == 46
