"""The mlib modules a source file uses, read from its text (nothing is imported).

Used to stamp an executed page with the code it depends on (``notebooks.stamp``:
a page re-executes when a module it reaches changes, not on any edit of mlib)
and by the test that holds the package's layer rules. Read statically:

1. every ``import``/``from ... import`` anywhere in the file (inside functions
   too, where mlib imports lazily), relative imports resolved against the
   file's package;
2. ``from mlib.a import b`` counts ``mlib.a.b`` too when ``b`` is a module;
3. a string naming a module (``"mlib.synth.render:MODES"``, as ``config.Choices``
   imports one on demand) counts as an import;
4. importing ``mlib.a.b`` runs the packages' ``__init__`` files on the way.

Over-counting only re-executes a page once too often; under-counting would
publish a stale page, so the rules err on the side of more.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ROOT = PACKAGE_DIR.name
_NAMED_IN_STRING = re.compile(rf"^{ROOT}(?:\.\w+)+(?::\w+)?$")


def module_file(name: str) -> Path | None:
    """The file of module ``name`` (``mlib.a.b``) in this package, or None."""
    parts = name.split(".")
    if parts[0] != ROOT:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    """The dotted name of a file inside the package (``mlib/a/__init__.py`` -> ``mlib.a``)."""
    relative = Path(path).resolve().relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _with_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}  # rule 4


def _resolve(node: ast.ImportFrom, package: str | None) -> str:
    if not node.level:
        return node.module or ""
    anchor = (package or "").split(".")[: len((package or "").split(".")) - node.level + 1]
    return ".".join(anchor + ([node.module] if node.module else []))


@cache
def _direct(path: Path, package: str | None, mtime_ns: int) -> frozenset[str]:  # mtime: a changed file is read again
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):  # rule 1
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # rule 2 (kept if a module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAMED_IN_STRING.match(node.value):
            found.add(node.value.partition(":")[0])  # rule 3
    ours = set()
    for name in found:
        if name.split(".")[0] == ROOT:
            ours.update(n for n in _with_parents(name) if module_file(n))
    return frozenset(ours)


def direct_imports(path: str | Path) -> set[str]:
    """The mlib modules ``path`` imports itself (a package file or any script, e.g. a notebook)."""
    path = Path(path).resolve()
    inside = PACKAGE_DIR in path.parents
    name = module_name(path) if inside else None
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]) if name else None
    return set(_direct(path, package, path.stat().st_mtime_ns)) - ({name} if name else set())


def reached_modules(path: str | Path) -> set[str]:
    """Every mlib module ``path`` reaches through imports, transitively."""
    seen: set[str] = set()
    todo = list(direct_imports(path))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(direct_imports(module_file(name)) - seen)
    return seen
