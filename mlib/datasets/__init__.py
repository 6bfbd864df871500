"""Database adapters: a CASME II, SAMM or SMIC-E root (real or synthetic) -> the clip table.

``load_dataset(name, root)`` returns a ``LoadResult`` (``book/formats.md``
section 2); ``validation_report(result)`` formats it for people.
"""

from __future__ import annotations

from pathlib import Path

from . import casme2, samm, smic
from .base import APEX_RULES, CLIP_COLUMNS, Adapter, DatasetError, LoadResult, Problem, clip_key, load_annotated
from .report import validation_report

DATASETS: dict[str, Adapter] = {a.name: a for a in (casme2.ADAPTER, samm.ADAPTER, smic.ADAPTER)}


def load_dataset(
    name: str, root: str | Path, apex_rule: str = "annotated", cropped: bool = False,
    window: int | None = None, workers: int = 2, progress: bool = False,
) -> LoadResult:  # fmt: skip
    """Read database ``name`` at ``root``; raises ``DatasetError`` when the root cannot be read at all.

    With ``window`` every frame of each clip's window is decoded (in ``workers``
    threads, with a progress bar if ``progress``); see ``base.load_annotated``.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return load_annotated(
        DATASETS[name], root, apex_rule=apex_rule, cropped=cropped, window=window, workers=workers, progress=progress
    )


__all__ = [
    "APEX_RULES",
    "CLIP_COLUMNS",
    "DATASETS",
    "DatasetError",
    "LoadResult",
    "Problem",
    "clip_key",
    "load_dataset",
    "validation_report",
]
