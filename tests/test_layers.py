"""The package's layer rules (mlib/README.md): every import goes to the same layer or below, and no circle."""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from mlib.core import imports

README = imports.PACKAGE_DIR / "README.md"


def layer_table(text: str) -> dict[str, int]:
    """``{folder: layer}`` from the README's table rows ``| 2 | `preprocess` | ... |``."""
    table = {}
    for number, folders in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", text, re.M):
        table.update({name: int(number) for name in re.findall(r"`(\w+)`", folders)})
    return table


def statement_imports(path: Path) -> set[str]:
    """The mlib modules ``path``'s import statements name (lazy ones too), without its own packages."""
    name = imports.module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = imports._resolve(node, package)
            modules = {f"{base}.{alias.name}" for alias in node.names} & _modules()
            found.update(modules or {base})  # `from pkg import module` imports the module
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in found if m in _modules()} - own - {name}


@cache
def _modules() -> frozenset[str]:
    return frozenset(imports.module_name(p) for p in imports.PACKAGE_DIR.rglob("*.py"))


def layer_of(module: str, table: dict[str, int]) -> int | None:
    parts = module.split(".")
    return table.get(parts[1]) if len(parts) > 1 else None


def import_graph() -> dict[str, set[str]]:
    return {imports.module_name(p): statement_imports(p) for p in sorted(imports.PACKAGE_DIR.rglob("*.py"))}


def upward_imports(graph: dict[str, set[str]], table: dict[str, int]) -> list[str]:
    return sorted(
        f"{a} (layer {layer_of(a, table)}) -> {b} (layer {layer_of(b, table)})"
        for a, targets in graph.items()
        for b in targets
        if layer_of(a, table) is not None and layer_of(b, table) is not None and layer_of(b, table) > layer_of(a, table)
    )


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = counter[0]
                    counter[0] += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_every_folder_of_the_package_has_a_layer():
    table = layer_table(README.read_text())
    folders = {p.parent.name for p in imports.PACKAGE_DIR.glob("*/__init__.py")}
    assert folders - set(table) == set()
    assert not [p.name for p in imports.PACKAGE_DIR.glob("*.py") if p.name != "__init__.py"], "modules outside a layer"


def test_no_import_runs_up_a_layer():
    assert upward_imports(import_graph(), layer_table(README.read_text())) == []


def test_no_modules_import_each_other_in_a_circle():
    assert circles(import_graph()) == []


def test_the_checks_catch_an_upward_import_and_a_circle():
    table = {"core": 0, "report": 5}
    graph = {"mlib.core.config": {"mlib.report.results"}, "mlib.report.results": {"mlib.core.config"}}
    assert upward_imports(graph, table) == ["mlib.core.config (layer 0) -> mlib.report.results (layer 5)"]
    assert circles(graph) == [["mlib.core.config", "mlib.report.results"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from mlib.synth import render\n", {"mlib.synth.render"}),
        ("def f():\n    from mlib.core.io import write_csv\n", {"mlib.core.io"}),
        ("import mlib.training.train\n", {"mlib.training.train"}),
    ],
)
def test_statement_imports_reads_lazy_and_submodule_imports(tmp_path, source, expected):
    path = imports.PACKAGE_DIR / "commands" / "_probe_for_test.py"
    try:
        path.write_text(source)
        assert statement_imports(path) == expected
    finally:
        path.unlink()
