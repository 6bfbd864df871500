"""Write a synthetic corpus in the on-disk layout of CASME II, SAMM or SMIC-E.

The corpus is read back by the same adapters as the real databases
(``mlib.datasets``), so every real-data code path runs on it. Frames are JPEG
files whose numbers do not start at 1 (``img46.jpg``, ``006_05562.jpg``,
``image0102000.jpg``), the annotation workbook has the real column names (SAMM
with preamble rows, SMIC without an apex column), and ``synth_truth/`` holds
what the generator knows: which subject, which regions moved and when.

Rerunning is cheap and safe: ``synth_manifest.json`` (settings and seeds) is
written last; when it matches, nothing is done. A killed run resumes: each
clip's truth row (``synth_truth/clips/*.json``) is written after its frames and
``.npz`` and marks it complete, valid
only while ``synth_truth/pending.json`` holds the same settings. The same specs
give byte-identical files (fixed zip timestamps in ``.xlsx`` and ``.npz``).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
from tqdm import tqdm

from mlib.core import io as mio
from mlib.datasets import DATASETS
from mlib.datasets.base import Adapter, clip_key
from mlib.synth.render import DYNAMICS_TRUTH, dynamics_truth

TRUTH_DIR = "synth_truth"
MANIFEST = "synth_manifest.json"
RENDERER_VERSION = 3
"""Raised when rendering changes what the same specs draw (2: regions move a wider patch, issue 21; 3: sharper
habits, a favourite "others" movement and turns up to 90 degrees, so FHOFO reads motion-only subjects), so a
corpus written by an older renderer is rewritten rather than reused."""
PENDING = "pending.json"
JPEG_QUALITY = 95
# One fixed time for every zip member and workbook property: equal inputs, equal bytes.
FIXED_TIME = datetime.datetime(2020, 1, 1, 0, 0, 0)
TRUTH_COLUMNS = [
    "clip_key",
    "subject",
    "clip",
    "synth_subject",
    "synth_index",
    "regions",
    "emotion",
    "action_units",
    "onset",
    "apex",
    "offset",
    "first_frame",
    "last_frame",
    "n_frames",
    "fps",
    "face_x",
    "face_y",
    "face_w",
    "face_h",
    *DYNAMICS_TRUTH,
]
SMIC_EMOTION_CODES = {"happiness": "po", "happy": "po", "positive": "po", "surprise": "sur"}
SMIC_CODE_NAMES = {"po": "positive", "ne": "negative", "sur": "surprise"}
SAMM_OBJECTIVE_CLASSES = {
    "anger": 1,
    "contempt": 2,
    "happiness": 3,
    "surprise": 4,
    "disgust": 5,
    "fear": 6,
    "sadness": 7,
}


@dataclass(frozen=True)
class Layout:
    """How the writer names subjects, clips and frames for one database (the reader is ``adapter``)."""

    name: str
    subject: Callable[[str], str]  # generator subject "01" -> the database's id
    clip: Callable[[object, str], str]  # (spec, emotion) -> clip folder name
    first_frame: Callable[[object], int]  # spec -> number of its first frame file
    frame_file: Callable[[str, int], str]  # (subject id, frame number) -> file name

    @property
    def adapter(self) -> Adapter:
        return DATASETS[self.name]

    @property
    def fps(self) -> int:
        return self.adapter.fps

    def clip_dir(self, root: Path, subject: str, clip: str) -> Path:
        return root / self.adapter.frames_dir / self.adapter.subject_folder(subject) / clip


def _pair(index: int) -> tuple[int, int]:
    """1, 2, 3, 4 -> (1, 1), (1, 2), (2, 1), (2, 2): two clips per episode / inducement."""
    return (index - 1) // 2 + 1, (index - 1) % 2 + 1


def _smic_code(emotion: str) -> str:
    return SMIC_EMOTION_CODES.get(emotion.lower(), "ne")


LAYOUTS: dict[str, Layout] = {
    "casme2": Layout(
        name="casme2",
        subject=lambda s: s.zfill(2),
        clip=lambda spec, emotion: "EP{:02d}_{:02d}f".format(*_pair(spec.index)),
        first_frame=lambda spec: 46 + 37 * (spec.index - 1),
        frame_file=lambda subject, n: f"img{n}.jpg",
    ),
    "samm": Layout(
        # Real SAMM ids start at 006; the generator's subject 01 becomes 006.
        name="samm",
        subject=lambda s: f"{int(s) + 5:03d}",
        clip=lambda spec, emotion: "{}_{}_{}".format(f"{int(spec.subject) + 5:03d}", *_pair(spec.index)),
        first_frame=lambda spec: 1000 + 1531 * spec.index,
        frame_file=lambda subject, n: f"{subject}_{n:05d}.jpg",
    ),
    "smic": Layout(
        name="smic",
        subject=lambda s: s.zfill(2),
        clip=lambda spec, emotion: f"s{int(spec.subject)}_{_smic_code(emotion)}_{spec.index:02d}",
        first_frame=lambda spec: 100000 + 2000 * spec.index,
        frame_file=lambda subject, n: f"image{n:07d}.jpg",
    ),
}


def write_corpus(
    root: str | Path,
    layout: str,
    specs: Sequence,
    workers: int = 2,
    progress: bool = True,
    render: Callable | None = None,
    settings: dict | None = None,
    names: dict | None = None,
) -> Path:
    """Render every spec and write the corpus in ``layout``'s on-disk format under ``root``; returns ``root``.

    ``render`` defaults to ``mlib.synth.render_clip``; ``settings`` (the
    generator's arguments) are recorded in the manifest beside the specs.
    ``names`` (``mlib.synth.inventory.restrict``) gives each spec's subject id
    and clip name, ``{(spec.subject, spec.index): (subject, clip)}``, instead of the layout's.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    spec_layout = LAYOUTS[layout]
    root = Path(root)
    manifest = _normalise(
        {
            "layout": layout,
            "fps": spec_layout.fps,
            "settings": settings or {},
            "renderer": RENDERER_VERSION,
            "specs": [dataclasses.asdict(s) for s in specs],
        }
    )
    if _read_json(root / MANIFEST) == manifest:
        return root
    truth_dir = root / TRUTH_DIR
    if _read_json(truth_dir / PENDING) != manifest:
        _clear(root, spec_layout)
        mio.write_json(truth_dir / PENDING, manifest)
    if render is None:
        from mlib.synth import render_clip as render

    todo = [s for s in specs if not _clip_record(root, spec_layout, s).is_file()]
    with tqdm(
        total=len(specs), initial=len(specs) - len(todo), desc=f"synth {layout}", unit="clip", disable=not progress
    ) as bar:
        if workers <= 1:
            for spec in todo:
                _write_clip(root, layout, spec, render, names)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for future in as_completed([pool.submit(_write_clip, root, layout, s, render, names) for s in todo]):
                    future.result()
                    bar.update()

    truth = pd.DataFrame([_truth_row(root, spec_layout, s) for s in specs], columns=TRUTH_COLUMNS)
    mio.write_csv(truth_dir / "truth.csv", truth)
    _write_annotation(root, spec_layout, truth)
    mio.write_json(root / MANIFEST, manifest)
    (truth_dir / PENDING).unlink()
    return root


def write_configured_corpus(
    root: str | Path, layout: str, synth_cfg: dict, *, workers: int = 2, progress: bool = True
) -> list:
    """Write the corpus that a ``synth`` configuration section describes (``mode`` and ``seed`` included).

    The one place where the defaults tree becomes a corpus: ``mlib synth``, the
    preprocessing notebook and the study runner all call it. Returns the specs.
    """
    specs, names, settings = configured_specs(layout, synth_cfg)
    write_corpus(
        root, layout, specs, workers=workers, progress=progress, settings={"layout": layout, **settings}, names=names
    )
    return specs


def configured_specs(layout: str, synth_cfg: dict) -> tuple[list, dict | None, dict]:
    """The clip specs a ``synth`` section describes, nothing rendered: the specs, the real inventory's clip
    names (None without one) and the generator settings written beside the corpus."""
    from mlib.synth import corpus_specs, inventory

    settings = {
        "mode": synth_cfg["mode"],
        "subjects": synth_cfg["subjects"],
        "clips_per_subject": synth_cfg["clips_per_subject"],
        "single_clip_subjects": synth_cfg["single_clip_subjects"],
        "short_clip_fraction": synth_cfg["short_clip_fraction"],
        "frame_size": list(synth_cfg["frame_size"]),
        "fps": LAYOUTS[layout].fps,
        "seed": synth_cfg["seed"],
        "motion_identity": synth_cfg["motion_identity"],
        "twin_group": synth_cfg["twin_group"],
        "session_signature": bool(synth_cfg.get("session_signature", False)),
    }
    database = inventory.inventory_name(synth_cfg.get("inventory", "none"), layout)
    if database is not None:  # a real database's subjects and clip names (mlib.synth.inventory)
        settings.update(inventory.generator_counts(database))
    specs = corpus_specs(**{**settings, "frame_size": tuple(settings["frame_size"])})
    names = None
    if database is not None:
        specs, names = inventory.restrict(specs, database)
        settings["inventory"] = database
    return specs, names, settings


def _normalise(data) -> object:
    """JSON round trip, so a fresh manifest compares equal to one read back from disk."""
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _clear(root: Path, layout: Layout) -> None:
    """Remove a previous corpus of other settings; refuse to touch a folder that is not a synthetic corpus."""
    if root.exists() and any(root.iterdir()) and not (root / TRUTH_DIR).is_dir():
        raise FileExistsError(
            f"{root}: not empty and not a synthetic corpus (no {TRUTH_DIR}/); refusing to write into it"
        )
    for name in (MANIFEST, layout.adapter.annotation):
        (root / name).unlink(missing_ok=True)
    for folder in (Path(layout.adapter.frames_dir).parts[0], TRUTH_DIR):
        shutil.rmtree(root / folder, ignore_errors=True)


def _names(layout: Layout, spec, emotion: str, names: dict | None = None) -> tuple[str, str, str]:
    if names is not None:
        subject, clip = names[(spec.subject, spec.index)]
    else:
        subject, clip = layout.subject(spec.subject), layout.clip(spec, emotion)
    return subject, clip, clip_key(layout.name, subject, clip)


def _clip_record(root: Path, layout: Layout, spec) -> Path:
    """The clip's truth row, written after its frames and masks: its presence marks the clip complete.

    Named after the spec (subject, index), because the clip's folder name
    depends on the rendered emotion and is not known before rendering.
    """
    return root / TRUTH_DIR / "clips" / f"{spec.subject}-{spec.index:03d}.json"


def _write_clip(root: Path, layout_name: str, spec, render: Callable, names: dict | None = None) -> None:
    """Render one clip, write its frames, then its truth files (the truth row last: the clip is complete)."""
    layout = LAYOUTS[layout_name]
    clip = render(spec)
    subject, name, key = _names(layout, spec, clip.emotion, names)
    folder = layout.clip_dir(root, subject, name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    first = layout.first_frame(spec)
    for i, frame in enumerate(clip.frames):
        path = folder / layout.frame_file(subject, first + i)
        if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"{path}: cv2.imwrite failed")
    write_npz(
        root / TRUTH_DIR / f"{key}.npz",
        motion_mask=np.asarray(clip.motion_mask, dtype=bool),
        motion_curve=np.asarray(clip.motion_curve, dtype=np.float32),
    )
    x, y, w, h = (int(v) for v in clip.face_box)
    row = {
        "clip_key": key,
        "subject": subject,
        "clip": name,
        "synth_subject": spec.subject,
        "synth_index": spec.index,
        "regions": ";".join(clip.regions),
        "emotion": clip.emotion,
        "action_units": clip.action_units,
        "onset": first + spec.onset,
        "apex": first + spec.apex,
        "offset": first + spec.offset,
        "first_frame": first,
        "last_frame": first + len(clip.frames) - 1,
        "n_frames": len(clip.frames),
        "fps": layout.fps,
        "face_x": x,
        "face_y": y,
        "face_w": w,
        "face_h": h,
        **dynamics_truth(spec),
    }
    mio.write_json(_clip_record(root, layout, spec), row)


def _truth_row(root: Path, layout: Layout, spec) -> dict:
    return json.loads(_clip_record(root, layout, spec).read_text())


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` with fixed zip timestamps (numpy stamps the current time), written atomically."""
    with mio.atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            archive.writestr(_zip_info(f"{name}.npy"), buffer.getvalue())


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _write_annotation(root: Path, layout: Layout, truth: pd.DataFrame) -> None:
    preamble, header, rows = ANNOTATION_WRITERS[layout.name](truth)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    for line in preamble:
        sheet.append(line)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.properties.creator = "mlib synth"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    write_workbook(root / layout.adapter.annotation, workbook)


def write_workbook(path: Path, workbook: openpyxl.Workbook) -> None:
    """Save ``workbook`` with every zip member stamped FIXED_TIME, so equal content gives equal bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    fixed = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buffer) as source, mio.atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                data = _fix_core_times(data, fixed)
            target.writestr(_zip_info(member.filename), data)


def _fix_core_times(xml: bytes, fixed: bytes) -> bytes:
    """openpyxl stamps ``dcterms:modified`` with the save time; replace both stamps by the fixed time."""
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + fixed + rb"\g<2>", xml)


def _casme2_sheet(truth: pd.DataFrame):
    header = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
    rows = [
        [r.subject, r.clip, int(r.onset), int(r.apex), int(r.offset), r.action_units, r.emotion]
        for r in truth.itertuples()
    ]
    return [], header, rows


def _samm_sheet(truth: pd.DataFrame):
    # SAMM v2 puts its title and notes above the header, which sits on Excel row 14.
    preamble = [
        ["SAMM Micro-Movement Database: FACS codes (synthetic corpus written by mlib synth)"],
        [],
        ["Onset, apex and offset are frame numbers as in the file names."],
        [],
    ]
    preamble += [[] for _ in range(13 - len(preamble))]
    header = [
        "Subject",
        "Filename",
        "Inducement Code",
        "Onset Frame",
        "Apex Frame",
        "Offset Frame",
        "Duration",
        "Type",
        "Action Units",
        "Notes",
        "Estimated Emotion",
        "Objective Classes",
    ]
    rows = [
        [
            r.subject,
            r.clip,
            int(r.clip.split("_")[1]),
            int(r.onset),
            int(r.apex),
            int(r.offset),
            int(r.offset) - int(r.onset) + 1,
            "Micro - 1/2",
            r.action_units,
            "",
            r.emotion,
            SAMM_OBJECTIVE_CLASSES.get(str(r.emotion).lower(), 7),
        ]
        for r in truth.itertuples()
    ]
    return preamble, header, rows


def _smic_sheet(truth: pd.DataFrame):
    # Names from a public SMIC-HS-E loader (process_SMICHSE); no apex column. One
    # micro-expression per synthetic clip, so the second and third are empty.
    header = [
        "Subject",
        "Filename",
        "Emotion",
        "OnsetF",
        "OffsetF",
        "Onset2F",
        "Offset2F",
        "Onset3F",
        "Offset3F",
        "FirstF",
        "LastF",
        "TotalMF1",
        "TotalMF2",
        "TotalMF3",
        "TotalVL",
    ]
    rows = [
        [
            int(r.subject),
            r.clip,
            SMIC_CODE_NAMES[r.clip.split("_")[1]],
            int(r.onset),
            int(r.offset),
            None,
            None,
            None,
            None,
            int(r.first_frame),
            int(r.last_frame),
            int(r.offset) - int(r.onset) + 1,
            None,
            None,
            int(r.n_frames),
        ]
        for r in truth.itertuples()
    ]
    return [], header, rows


ANNOTATION_WRITERS = {"casme2": _casme2_sheet, "samm": _samm_sheet, "smic": _smic_sheet}
