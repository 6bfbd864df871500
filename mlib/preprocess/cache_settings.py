"""What a prepared cache is: its settings (its identity) and whether its frames come from the synthetic corpus.

A cache's ``settings.json`` (``book/formats.md`` section 3) names the database
root it was made from and every preprocessing setting; runs, baselines and
pages key their results on it, and each page says whether its data is
synthetic from it (``mlib.report.provenance``).
"""

from __future__ import annotations

import json
from pathlib import Path


class DataError(ValueError):
    """A cache or split file that does not follow ``book/formats.md``."""


def read_cache_settings(cache_dir: str | Path) -> dict:
    """The ``settings.json`` a cache was made from. A cache without one is refused: its settings are
    its key (a run's folder name and data identity, a baseline's key) and name its dataset, and the
    hash of nothing would match any cache."""
    path = Path(cache_dir) / "settings.json"
    if not path.is_file():
        if not (Path(cache_dir) / "index.csv").is_file():
            raise DataError(
                f"{Path(cache_dir) / 'index.csv'}: missing; {cache_dir} is not a prepared cache (run mlib prepare)"
            )
        raise DataError(f"{path}: missing; the cache's settings are its identity (prepare the cache again)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc


def root_is_synthetic(root: str | Path) -> bool:
    """Whether a database root holds the synthetic corpus (``mlib synth`` wrote its manifest or truth there)."""
    from mlib.synth.layouts import MANIFEST, TRUTH_DIR  # here: reading a cache's settings needs no synth import

    root = Path(root)
    return (root / TRUTH_DIR).is_dir() or (root / MANIFEST).is_file()


def cache_is_synthetic(cache_dir: str | Path) -> bool | None:
    """Whether a cache was made from the synthetic corpus (:func:`root_is_synthetic` of the root its
    ``settings.json`` names); ``None`` when the settings name no root that still exists."""
    path = Path(cache_dir) / "settings.json"
    root = read_cache_settings(cache_dir).get("root") if path.is_file() else None
    if not root or not Path(root).is_dir():
        return None
    return root_is_synthetic(root)
