"""Atomic file writes: a reader never sees a half-written result.

Every writer goes to a temporary file in the target's folder and then
``os.replace``-s it into place, so a run killed mid-write leaves either the old
file or no file, never a truncated one that looks valid. The file gets the
permissions an ordinary ``open`` would give it (0666 less the user's umask):
``mkstemp`` alone makes it 0600, which would hide a shared cache or results
folder from the group.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds."""
    path = Path(path)
    check_folder_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    finally:
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.filename is None and exc.strerror:  # a full disk: name the file being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_folder_for(path: str | Path) -> None:
    """Refuse, naming it, a file where a folder of ``path`` should be (``--out results.json/x.json``), before
    any work: ``mkdir`` would only say "File exists" or "Not a directory"."""
    for folder in reversed(Path(path).parents):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"{folder} is a file, not a folder")


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_yaml(path: str | Path, data: Any) -> None:
    write_text(path, yaml.safe_dump(data, sort_keys=False))


def write_csv(path: str | Path, frame) -> None:
    """Write a pandas DataFrame as CSV without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)


def save_torch(path: str | Path, obj: Any) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
