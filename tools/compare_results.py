"""Compare two result trees file by file, as a pure refactor must leave them (issue 18).

Usage: python tools/compare_results.py OLD NEW   (for example two copies of ``results/default`` made by
``make book`` before and after a change, at the same absolute paths so that run folders get the same hashes).

Each file the two trees share falls into one class (:func:`classify`):

1. ``byte-identical``;
2. ``identical but for timing``: JSON equal once every key that times something is dropped (a key with
   ``seconds`` in it, and ``started``/``finished``/``elapsed``), or a CSV equal without its ``seconds``
   column (a run's ``history.csv``, a grid's ``grid.csv``);
3. ``config: only keys added``: a run's ``config.yaml`` (or a grid's ``grid-spec.yaml``) whose every setting is
   unchanged, with keys that the newer code added (a new section's defaults);
4. ``checkpoint: every tensor equal``: a ``.pt`` file whose tensors are all equal (``torch.save`` writes the
   configuration beside the weights, so a new configuration key changes the bytes);
5. ``different``.

Exit status 0 when no common file is ``different``, 1 otherwise; files in one tree only are listed, and do not
count (a page that the old code did not have writes new files).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

IDENTICAL, TIMING, CONFIG_ADDED, CHECKPOINT_EQUAL, DIFFERENT = (
    "byte-identical",
    "identical but for timing",
    "config: only keys added",
    "checkpoint: every tensor equal",
    "different",
)
TIMING_KEYS = {"started", "finished", "elapsed"}
CONFIG_FILES = {"config.yaml", "grid-spec.yaml"}


def without_timing(value):
    """``value`` with every key that times something dropped, at any depth."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if "seconds" not in k and k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def flat(tree, prefix: str = "") -> dict:
    """``{"a.b": value}`` for a nested mapping."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    found = {}
    for key, value in tree.items():
        found.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def tensors(obj, prefix: str = "") -> dict:
    """Every tensor inside a loaded checkpoint, by its path."""
    import torch

    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    found = {}
    for key, value in items:
        found.update(tensors(value, f"{prefix}/{key}"))
    return found


def classify(old: bytes, new: bytes, name: str) -> tuple[str, str]:
    """The class of one file's two versions (module docstring, rules 1-5) and a detail for classes 3 and 5."""
    if old == new:
        return IDENTICAL, ""  # rule 1
    if name.endswith(".json") and without_timing(json.loads(old)) == without_timing(json.loads(new)):
        return TIMING, ""  # rule 2
    if name.endswith(".csv"):
        before, after = (pd.read_csv(io.BytesIO(data)) for data in (old, new))
        if "seconds" in before and "seconds" in after:
            if before.drop(columns="seconds").equals(after.drop(columns="seconds")):
                return TIMING, ""  # rule 2
    if name in CONFIG_FILES:
        before, after = flat(yaml.safe_load(old)), flat(yaml.safe_load(new))
        changed = sorted(k for k in before if k not in after or before[k] != after[k])
        if not changed:
            return CONFIG_ADDED, ", ".join(sorted(after.keys() - before.keys()))  # rule 3
        return DIFFERENT, f"changed or removed: {', '.join(changed)}"
    if name.endswith(".pt"):
        import torch

        before, after = (tensors(torch.load(io.BytesIO(d), map_location="cpu", weights_only=False)) for d in (old, new))
        if before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before):
            return CHECKPOINT_EQUAL, ""  # rule 4
    return DIFFERENT, ""  # rule 5


def compare(old_root: Path, new_root: Path) -> dict[str, list[tuple[str, str]]]:
    """``{class: [(relative path, detail)]}`` over the files both trees hold."""
    files = [{p.relative_to(root) for p in root.rglob("*") if p.is_file()} for root in (old_root, new_root)]
    found: dict[str, list[tuple[str, str]]] = {}
    for rel in sorted(files[0] & files[1]):
        kind, detail = classify((old_root / rel).read_bytes(), (new_root / rel).read_bytes(), rel.name)
        found.setdefault(kind, []).append((str(rel), detail))
    found["only in old"] = [(str(p), "") for p in sorted(files[0] - files[1])]
    found["only in new"] = [(str(p), "") for p in sorted(files[1] - files[0])]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/compare_results.py OLD NEW", file=sys.stderr)
        return 2
    old_root, new_root = map(Path, argv)
    found = compare(old_root, new_root)
    shared = sum(len(v) for k, v in found.items() if not k.startswith("only"))
    print(f"{old_root} -> {new_root}: {shared} files in both")
    for kind, items in found.items():
        print(f"  {kind}: {len(items)}")
        if kind not in (IDENTICAL, TIMING, CHECKPOINT_EQUAL):
            for rel, detail in items[:20]:
                print(f"    {rel}" + (f"  ({detail})" if detail else ""))
    return 1 if found.get(DIFFERENT) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
