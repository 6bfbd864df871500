"""What every database adapter shares: result types, spreadsheet reading, frame listing, checks.

An adapter (``casme2``, ``samm``, ``smic``) only describes its database: where
the frames and the annotation spreadsheet live, which columns mean what, and
how subject ids are padded. ``load_annotated`` turns that description into the
clip table of ``book/formats.md`` section 2. Every erratum is either fixed by a
documented rule (a ``fixed`` problem, the fix also written into the row's
``notes``) or reported (``warning`` / ``error``); no row or folder disappears
without a problem that names it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
from tqdm import tqdm

from mlib.datasets.frames import first_damaged
from mlib.datasets.window import place_window

SEVERITIES = ("error", "warning", "fixed")
# File name endings of frames; an adapter's frame pattern adds the name before them.
IMAGE_SUFFIX_PATTERN = r"\.(?:jpe?g|png|bmp|tiff?)"
APEX_RULES = ("annotated", "midpoint")
# An annotated frame missing on disk is moved to the nearest frame on disk when
# one lies at most this many frame numbers away (an off-by-one or a dropped
# frame); farther than that the annotation and the folder disagree: an error.
NEARBY_FRAMES = 3
# How deep below the root the annotation spreadsheet is searched for when it is
# not at the root itself (real releases put it beside or inside the frame folder).
ANNOTATION_SEARCH_DEPTH = 3

CLIP_COLUMNS = [
    "clip_key",
    "dataset",
    "subject",
    "clip",
    "frame_dir",
    "frames",
    "frame_numbers",
    "onset",
    "apex",
    "offset",
    "apex_source",
    "emotion",
    "action_units",
    "fps",
    "source_file",
    "source_row",
    "notes",
]


class DatasetError(ValueError):
    """A root that cannot be read at all: wrong folder, missing spreadsheet, missing columns."""


@dataclass(frozen=True)
class Problem:
    """One finding about a database root; ``row`` is the Excel row number (1-based) or None."""

    severity: str
    file: str
    row: int | None
    clip_key: str
    message: str

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


@dataclass
class LoadResult:
    """The clip table of a database root and everything found wrong with it."""

    clips: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    dataset: str = ""
    root: str = ""
    apex_rule: str = "annotated"

    def by_severity(self, severity: str) -> list[Problem]:
        return [p for p in self.problems if p.severity == severity]

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def clip_key(dataset: str, subject: str, clip: str) -> str:
    """``<dataset>_<subject>_<clip>`` with anything but letters, digits, ``_ - .`` made ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{dataset}_{subject}_{clip}")


def natural_key(text: str) -> list:
    """Sort key that orders ``img9`` before ``img10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def name_form(text: str) -> str:
    """A name with Unicode normalised (NFKC) and spaces, dashes and underscores removed: two clip
    names with the same form differ only in those, a likely typing or copying slip."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not (ch.isspace() or ch == "_" or unicodedata.category(ch) == "Pd")).casefold()


@dataclass
class FrameListing:
    """A clip folder's frames in temporal order, and what else is in it."""

    frames: list[Path]
    numbers: list[int]
    strays: list[Path]  # files that are not frames of the layout (``img115 (2).jpg``, ``._img115.jpg``)
    repeated: dict[int, list[Path]]  # frame number -> the several files that carry it


def list_frames(folder: Path, pattern: str) -> FrameListing:
    """The files of a clip folder whose whole name matches the layout's frame ``pattern``.

    Frame numbers come from the file names (the pattern's ``number`` group),
    never from positions in the folder, because folders can have gaps. A file
    that does not match (a stray copy, a macOS ``._`` file) is listed as a
    stray, never interpreted as a frame.
    """
    matcher = re.compile(pattern + IMAGE_SUFFIX_PATTERN, re.IGNORECASE)
    by_number: dict[int, list[Path]] = {}
    strays = []
    for path in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if not path.is_file():
            continue
        match = matcher.fullmatch(path.name)
        if match is None:
            strays.append(path)
        else:
            by_number.setdefault(int(match.group("number")), []).append(path)
    numbers = sorted(by_number)
    repeated = {n: paths for n, paths in by_number.items() if len(paths) > 1}
    return FrameListing([by_number[n][0] for n in numbers], numbers, strays, repeated)


def cell_text(value) -> str:
    """A spreadsheet cell as text, the way ``dtype=str`` would read it: ``6.0`` -> ``"6"``, empty -> ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_frame(text: str) -> int | None:
    """A frame number cell as an int, or None for empty or non-numeric cells (``"/"``)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


def read_annotation(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """Read the first sheet of an annotation workbook as text, finding the header row by content.

    The header is the first row holding every ``required`` column name, so
    preamble rows above it (SAMM) need no hard-coded offset. Columns without a
    name (extra unnamed columns of some CASME II releases) are dropped. The
    result has one row per non-empty data row and an ``excel_row`` column with
    its 1-based row number in the workbook.
    """
    required = list(required)
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a damaged file
        raise DatasetError(f"{path}: cannot read the spreadsheet ({exc})") from exc
    sheet = workbook.worksheets[0]
    rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(min_row=1, values_only=True)]
    header_at = next((i for i, row in enumerate(rows) if set(required) <= set(row)), None)
    if header_at is None:
        best = max(rows, key=lambda row: len(set(required) & set(row)), default=[])
        missing = [name for name in required if name not in best]
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(missing)} (no row holds all of {', '.join(required)})"
        )
    header = rows[header_at]
    keep = [i for i, name in enumerate(header) if name]
    records = []
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = [row[i] if i < len(row) else "" for i in keep]
        if any(values):
            records.append(values + [offset])
    if not records:
        raise DatasetError(f"{path}: the sheet has a header row (row {header_at + 1}) but no data rows")
    return pd.DataFrame(records, columns=[header[i] for i in keep] + ["excel_row"], dtype=object)


def find_annotation(root: Path, name: str) -> Path:
    """The annotation spreadsheet: at the root, else the one file of that name a few folders below."""
    direct = root / name
    if direct.is_file():
        return direct
    found = [
        p for depth in range(1, ANNOTATION_SEARCH_DEPTH + 1) for p in root.glob("/".join(["*"] * depth) + "/" + name)
    ]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listed = ", ".join(str(p) for p in sorted(found))
        raise DatasetError(f"{root}: several annotation spreadsheets named {name}: {listed}")
    raise DatasetError(
        f"{root}: missing annotation spreadsheet {name} (looked at the root and {ANNOTATION_SEARCH_DEPTH} folders below)"
    )


@dataclass(frozen=True)
class Adapter:
    """How one database lays out its frames and annotation."""

    name: str
    fps: int
    annotation: str  # spreadsheet file name
    frames_dir: str  # frame root below the database root
    cropped_frames_dir: str  # the same for the cropped release
    subject_width: int  # zero padding of subject ids
    subject_folder: Callable[[str], str]  # subject id -> its folder name
    columns: dict  # role -> spreadsheet column (roles below)
    frame_pattern: str  # regex of a frame file's name before its suffix, group "number"
    frame_example: str  # the same in words, for messages (``img<N>.jpg``)
    has_apex: bool = True
    row_hook: Callable | None = None  # (row, frame numbers on disk, report) -> None: database-specific checks
    emotion_from_clip: Callable[[str], str] | None = None

    @property
    def required_columns(self) -> list[str]:
        roles = ["subject", "clip", "onset", "offset"] + (["apex"] if self.has_apex else [])
        return [self.columns[role] for role in roles]

    def subject_id(self, text: str) -> str:
        """Subject id as text with the database's zero padding (``"6"`` or ``"006"`` -> ``"006"``)."""
        text = text.strip()
        return text.zfill(self.subject_width) if text.isdigit() else text


def load_annotated(
    adapter: Adapter, root: str | Path, apex_rule: str = "annotated", cropped: bool = False,
    window: int | None = None, workers: int = 2, progress: bool = False,
) -> LoadResult:  # fmt: skip
    """Read a database root (frames + annotation spreadsheet) into the clip table, with its problems.

    Frames are decoded to check them (``frames.read_frame``): with ``window``,
    every frame the ``window``-frame window of a clip will use (what
    ``mlib validate`` does, so a root it accepts can be cached); without, the
    first, apex and last frame. A clip with a damaged frame is an error naming it.
    """
    if apex_rule not in APEX_RULES:
        raise DatasetError(f"apex rule {apex_rule!r}: expected one of {', '.join(APEX_RULES)}")
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected a {adapter.name} database root)")
    frames_root = root / (adapter.cropped_frames_dir if cropped else adapter.frames_dir)
    if not frames_root.is_dir():
        raise DatasetError(
            f"{root}: not a {adapter.name} root: expected the frame folder {frames_root.relative_to(root)}/ in it"
        )
    sheet_path = find_annotation(root, adapter.annotation)
    table = read_annotation(sheet_path, adapter.required_columns)
    rule = "midpoint" if not adapter.has_apex else apex_rule

    problems: list[Problem] = []
    records: list[dict] = []
    seen: dict = {}  # clip key, and (subject, name_form(clip)) -> (excel row, clip name)
    annotated_dirs: set[Path] = set()
    for _, row in table.iterrows():
        record = _clip_from_row(adapter, row, sheet_path, frames_root, rule, problems, seen)
        if record is not None:
            annotated_dirs.add(Path(record["frame_dir"]))
            records.append(record)
        else:
            folder = _row_folder(adapter, row, frames_root)
            if folder is not None:
                annotated_dirs.add(folder)
    for folder in _clip_folders(frames_root):
        if folder not in annotated_dirs:
            subject = adapter.subject_id(folder.parent.name.removeprefix(adapter.subject_folder("")))
            problems.append(
                Problem(
                    "warning",
                    str(folder),
                    None,
                    clip_key(adapter.name, subject, folder.name),
                    f"clip folder has no row in {sheet_path.name}; not used",
                )
            )
    records = _decodable(records, problems, window, workers, progress)
    clips = pd.DataFrame(records, columns=CLIP_COLUMNS)
    return LoadResult(clips, problems, adapter.name, str(root), rule)


def frames_to_check(record: dict, window: int | None) -> list[str]:
    """The frames of a clip record that are decoded to check it (``load_annotated``)."""
    frames, numbers = record["frames"], record["frame_numbers"]
    if window is None:
        return [frames[0], frames[numbers.index(record["apex"])], frames[-1]]
    placed = place_window(numbers, record["onset"], record["apex"], record["offset"], window)
    return frames[placed.start : placed.end + 1]


def _decodable(records: list[dict], problems: list[Problem], window, workers: int, progress: bool) -> list[dict]:
    """The records whose frames all decode; an error problem for each of the others (threads: OpenCV
    decodes without the GIL)."""
    if not records:
        return records
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        checks = pool.map(lambda record: first_damaged(frames_to_check(record, window)), records)
        found = list(tqdm(checks, total=len(records), desc="decode frames", unit="clip", disable=not progress))
    kept = []
    for record, damaged in zip(records, found):
        if damaged is None:
            kept.append(record)
            continue
        path, problem = damaged
        problems.append(
            Problem(
                "error", path, record["source_row"], record["clip_key"], f"frame {Path(path).name}: {problem}; skipped"
            )
        )
    return kept


def _clip_folders(frames_root: Path) -> list[Path]:
    return sorted(
        (c for s in frames_root.iterdir() if s.is_dir() for c in s.iterdir() if c.is_dir()),
        key=lambda p: (natural_key(p.parent.name), natural_key(p.name)),
    )


def _row_folder(adapter: Adapter, row, frames_root: Path) -> Path | None:
    subject = adapter.subject_id(row[adapter.columns["subject"]])
    clip = row[adapter.columns["clip"]]
    return frames_root / adapter.subject_folder(subject) / clip if subject and clip else None


def _clip_from_row(adapter, row, sheet_path, frames_root, rule, problems, seen) -> dict | None:
    """One annotation row -> one clip record, or None (with an error problem) when it cannot be used."""
    cols = adapter.columns
    excel_row = int(row["excel_row"])
    subject = adapter.subject_id(row[cols["subject"]])
    clip = row[cols["clip"]]
    key = clip_key(adapter.name, subject or "?", clip or "?")
    notes: list[str] = []

    def report(severity: str, message: str, file: Path = sheet_path) -> None:
        problems.append(Problem(severity, str(file), excel_row, key, message))
        if severity == "fixed":
            notes.append(message)

    if not subject or not clip:
        report("error", f"row has no {cols['subject'] if not subject else cols['clip']}; skipped")
        return None
    form = (subject, name_form(clip))
    if key in seen or form in seen:
        first_row, first_clip = seen.get(key) or seen[form]
        if first_clip != clip:
            report(
                "error",
                f"clip {clip!r} differs from {first_clip!r} on row {first_row} only in spaces, dashes or "
                f"Unicode normalisation: both name clip {key}; skipped",
            )
        else:
            report("error", f"second row for the same clip (first on row {first_row}); skipped")
        return None
    seen[key] = seen[form] = (excel_row, clip)
    onset, offset = parse_frame(row[cols["onset"]]), parse_frame(row[cols["offset"]])
    if onset is None or offset is None:
        which = cols["onset"] if onset is None else cols["offset"]
        report("error", f"{which} {row[which]!r} is not a frame number; skipped")
        return None
    if onset > offset:
        report("error", f"onset {onset} is after offset {offset}; skipped")
        return None

    record = {"emotion": _optional(row, cols.get("emotion")), "action_units": _optional(row, cols.get("action_units"))}
    if not record["emotion"] and adapter.emotion_from_clip is not None:
        record["emotion"] = adapter.emotion_from_clip(clip)

    folder = frames_root / adapter.subject_folder(subject) / clip
    if not folder.is_dir():
        near = _same_form(folder)
        if near is not None:
            report(
                "error",
                f"clip folder {folder} is missing; {near.name!r} differs from {clip!r} only in spaces, "
                f"dashes or Unicode normalisation (rename one so they match); skipped",
            )
        else:
            report("error", f"clip folder {folder} is missing; skipped")
        return None
    listing = list_frames(folder, adapter.frame_pattern)
    frames, numbers = listing.frames, listing.numbers
    if listing.strays:
        shown = ", ".join(repr(p.name) for p in listing.strays[:3]) + (" ..." if len(listing.strays) > 3 else "")
        report(
            "warning",
            f"{len(listing.strays)} file(s) not named like a {adapter.name} frame "
            f"({adapter.frame_example}) are ignored: {shown}",
            folder,
        )
    if listing.repeated:
        number, paths = next(iter(sorted(listing.repeated.items())))
        report(
            "error",
            f"frame number {number} is carried by several files: {', '.join(sorted(p.name for p in paths))}"
            f"{' (and other numbers)' if len(listing.repeated) > 1 else ''}; skipped",
            folder,
        )
        return None
    if not frames:
        report(
            "error", f"clip folder {folder} holds no frame files named like {adapter.frame_example}; skipped", folder
        )
        return None
    gaps = [(a, b) for a, b in zip(numbers, numbers[1:]) if b - a != 1]
    if gaps:
        shown = ", ".join(f"{a}->{b}" for a, b in gaps[:3]) + (" ..." if len(gaps) > 3 else "")
        report(
            "warning",
            f"{len(gaps)} gap(s) or repeat(s) in the frame numbers ({shown}); frames follow the file numbers",
            folder,
        )
    if adapter.row_hook is not None:
        adapter.row_hook(row, numbers, report)

    onset = _on_disk("onset", onset, numbers, report)
    offset = _on_disk("offset", offset, numbers, report)
    if onset is None or offset is None:
        return None
    apex, apex_source = _apex(adapter, row, onset, offset, rule, report)
    apex_on_disk = _on_disk("apex", apex, numbers, report)
    if apex_on_disk is None:
        return None
    if apex_on_disk != apex and apex_source == "annotated":
        apex_source = "fixed: nearest frame on disk"
    apex = apex_on_disk

    record.update(
        clip_key=key,
        dataset=adapter.name,
        subject=subject,
        clip=clip,
        frame_dir=str(folder),
        frames=[str(p) for p in frames],
        frame_numbers=numbers,
        onset=onset,
        apex=apex,
        offset=offset,
        apex_source=apex_source,
        fps=adapter.fps,
        source_file=str(sheet_path),
        source_row=excel_row,
        notes="; ".join(notes),
    )
    return record


def _same_form(folder: Path) -> Path | None:
    """A sibling of the missing ``folder`` whose name has the same ``name_form``, if any."""
    if not folder.parent.is_dir():
        return None
    form = name_form(folder.name)
    return next((p for p in sorted(folder.parent.iterdir()) if p.is_dir() and name_form(p.name) == form), None)


def _optional(row, column: str | None) -> str:
    """A column that some releases lack: its text, or empty."""
    return row[column] if column and column in row.index else ""


def _apex(adapter, row, onset, offset, rule, report) -> tuple[int, str]:
    """The apex frame number and where it came from (``apex_source``)."""
    midpoint = (onset + offset) // 2
    if rule == "midpoint":
        return midpoint, "midpoint"
    column = adapter.columns["apex"]
    text = row[column]
    apex = parse_frame(text)
    if apex is None:
        # CASME II has "/" in some apex cells (public loaders fill them with the
        # midpoint, e.g. process_CASME2 in a MEGC-2019 cleaning module; tvaranka/meb
        # meb/datasets/datasets.py estimates them from optical flow instead).
        report("fixed", f"{column} {text!r} is not a frame number; apex = (onset + offset) // 2 = {midpoint}")
        return midpoint, "fixed: midpoint"
    if not onset <= apex <= offset:
        # SAMM 028_4_1 and 032_3_1 have their apex outside onset..offset; the
        # public MEGC-2019 loader (process_SAMM) replaces it by the midpoint,
        # and so do we for any row: a clamped apex would sit on the boundary.
        report(
            "fixed",
            f"{column} {apex} lies outside onset..offset {onset}..{offset}; apex = (onset + offset) // 2 = {midpoint}",
        )
        return midpoint, "fixed: midpoint"
    return apex, "annotated"


def _on_disk(label: str, number: int, numbers: list[int], report) -> int | None:
    """``number`` if that frame exists, else the nearest frame within NEARBY_FRAMES (fixed; ties go to
    the lower number), else None (error)."""
    if number in set(numbers):
        return number
    nearest = min(numbers, key=lambda n: (abs(n - number), n))
    if abs(nearest - number) <= NEARBY_FRAMES:
        report("fixed", f"{label} frame {number} is not on disk; moved to the nearest frame {nearest}")
        return nearest
    report(
        "error",
        f"{label} frame {number} is not on disk (frames {numbers[0]}..{numbers[-1]}, nearest {nearest}); skipped",
    )
    return None
