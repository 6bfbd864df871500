"""The union of prepared caches of several databases as one cache (the open-set protocol on CASME II + SAMM + SMIC).

Nothing is copied: the union's ``index.csv`` lists every part's clips with the
subject and clip key prefixed by the database (``casme2-sub01``: subjects of
two databases never merge, whatever their ids), and each row's ``cache_file``
points into its part's cache (a relative path, so ``load_clip`` reads it). The
parts must share their window and face size (a model batch mixes them); a
union of caches prepared otherwise is refused, naming the key and both values.
The union's ``settings.json`` records its parts' settings, so its folder name
(a hash of them) and every run keyed on it change when a part changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlib.core.config import config_hash
from mlib.core.io import write_csv, write_json

SHARED = ("window", "face_size", "margin", "cropped")


class UnionError(ValueError):
    """Caches that cannot be one corpus; the message names them."""


def union_cache(parts: Mapping[str, str | Path], cache_dir: str | Path) -> Path:
    """One cache over ``parts`` (database name -> prepared cache), under ``cache_dir/union-<hash>``."""
    from mlib.preprocess import load_index
    from mlib.preprocess.cache_settings import read_cache_settings

    if len(parts) < 2:
        raise UnionError(f"a union needs two or more caches, got {len(parts)}")
    settings = {name: read_cache_settings(path) for name, path in parts.items()}
    first = next(iter(parts))
    for name in parts:
        for key in SHARED:
            if settings[name].get(key) != settings[first].get(key):
                raise UnionError(
                    f"{parts[name]}: {key} {settings[name].get(key)} differs from {parts[first]}'s "
                    f"{settings[first].get(key)}; prepare every database of the union alike"
                )
    union = {
        "union": settings,
        **{key: settings[first].get(key) for key in SHARED},
        "apex_rule": "per part",
        "version": settings[first].get("version"),
    }
    path = Path(cache_dir) / f"union-{config_hash(union)}"
    rows = []
    for name, part in parts.items():
        index = load_index(part).copy()
        index["cache_file"] = [os.path.relpath(Path(part) / f, path) for f in index["cache_file"]]
        index["subject"] = f"{name}-" + index["subject"]
        index["clip_key"] = f"{name}-" + index["clip_key"]
        rows.append(index)
    path.mkdir(parents=True, exist_ok=True)
    write_json(path / "settings.json", union)
    write_csv(path / "index.csv", pd.concat(rows, ignore_index=True))
    return path
