"""Execute jupytext notebooks with papermill into executed copies for the book.

The jupytext ``py:percent`` files in ``notebooks/`` are the single source of
truth. ``execute`` reads one, injects parameters with papermill and writes the
executed ``.ipynb`` atomically. An executed copy carries a stamp (a hash of the
source, the parameters, the mlib code the page reaches and the upstream
stamps) in its metadata: when nothing changed, it is not executed again. A notebook that fails is moved
to ``failed/`` beside the executed copies and the error is raised, so a failed
notebook can never be published as if it had run. Papermill writes into a
hidden ``.NAME.running.ipynb`` that is moved into place only on success.

Every notebook's ``parameters`` cell holds ``profile``, ``overrides`` and the
page's paths, and the first code cell after it resolves the configuration
(``config.resolve(profile, overrides)``). ``execute`` refuses a parameter the
cell does not define (papermill would only warn and ignore it), and
``configuration`` resolves a notebook's configuration without running the page.

The executed copy reads as a paper's section (``for_reading``): every code
cell is tagged ``hide-input`` (the book collapses it behind a toggle), the
``parameters`` cell and papermill's ``injected-parameters`` cell are tagged
``remove-cell``. Outputs are kept as they are, stderr included: a warning is
fixed where it arises or filtered there by message, with the reason (e.g.
``mlib.training.models.build_slowfast``), never dropped here, so a new one shows on the
page and fails the browser test. The pages pass ``progress=False`` and
``log=False`` to mlib, so no progress bar or log line reaches them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import jupytext
import nbformat
import papermill
from papermill.translators import PythonTranslator, translate_parameters

from mlib.core import imports

KERNEL = "mlib"
STAMP_KEY = "mlib_stamp"
DATA_SUFFIXES = {".yaml", ".csv", ".json", ".md"}  # package data every page may read
HIDDEN_CELLS = {"parameters", "injected-parameters"}  # papermill's cell tags; removed from the book


class NotebookFailed(RuntimeError):
    """A notebook raised during execution, or an executed copy holds an error."""


def code_fingerprint(source: str | Path) -> str:
    """A hash of the mlib code a notebook reaches (``imports.reached_modules``) and of the
    package's data files (defaults, reference tables): a change to them re-executes the
    page, an edit to a module the page never imports does not."""
    modules = sorted(imports.reached_modules(source))
    files = [imports.module_file(name) for name in modules]
    files += sorted(
        path
        for path in imports.PACKAGE_DIR.rglob("*")
        if path.is_file() and path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(imports.PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stamp(source: Path, parameters: Mapping, upstream: Iterable[str] = (), inputs: Iterable[str | Path] = ()) -> str:
    """The stamp an executed copy must carry to count as up to date: the notebook, its parameters, the code it
    imports, the stamps of the pages before it and the contents of ``inputs`` (files the page reads that no
    earlier page wrote, such as a committed result table; a missing one counts as missing)."""
    payload = {
        "source": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
        "parameters": parameters,
        "code": code_fingerprint(source),
        "upstream": list(upstream),
    }
    if inputs:
        payload["inputs"] = {
            str(path): hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None
            for path in inputs
        }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_stamp(executed: Path) -> str | None:
    if not executed.is_file():
        return None
    return nbformat.read(executed, as_version=4).metadata.get(STAMP_KEY)


def errors_in(executed: Path) -> list[str]:
    """Error outputs recorded in an executed notebook (empty when it ran cleanly)."""
    notebook = nbformat.read(executed, as_version=4)
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


def parameters_cell(notebook: nbformat.NotebookNode) -> int:
    """The index of the notebook's one cell tagged ``parameters``."""
    tagged = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise NotebookFailed(f"expected one cell tagged 'parameters', found {len(tagged)}")
    return tagged[0]


def parameter_names(notebook: nbformat.NotebookNode) -> set[str]:
    """The names papermill finds in the ``parameters`` cell (its own parser, the one behind its
    "Passed unknown parameter" warning): the only parameters it may inject."""
    return {parameter.name for parameter in PythonTranslator.inspect(notebook.cells[parameters_cell(notebook)])}


def for_reading(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Tag the cells for the book (see the module docstring); returns ``notebook``."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        wanted = "remove-cell" if HIDDEN_CELLS & set(tags) else "hide-input"
        if wanted not in tags and "remove-cell" not in tags:
            tags.append(wanted)
        cell.metadata["tags"] = tags
    return notebook


def configuration(source: str | Path, parameters: Mapping, kernel: str = KERNEL) -> dict:
    """The names a notebook defines once its configuration is resolved, without running the page.

    Runs in this process what executing ``source`` would run first: its
    ``parameters`` cell, papermill's injected values and the next code cell
    (the configuration cell). A test compares the result (``["cfg"]``) with the
    configuration the study trains, so a page run by hand provably does the same.
    """
    notebook = jupytext.read(source)
    unknown = set(parameters) - parameter_names(notebook)
    if unknown:
        raise NotebookFailed(f"{source}: unknown parameter(s) {', '.join(sorted(unknown))}")
    start = parameters_cell(notebook)
    config_cell = next(cell for cell in notebook.cells[start + 1 :] if cell.cell_type == "code")
    namespace: dict = {}
    injected = translate_parameters(kernel, "python", dict(parameters), "Parameters")
    for code in (notebook.cells[start].source, injected, config_cell.source):
        exec(compile(code, str(source), "exec"), namespace)  # noqa: S102 - the notebook's own cells
    return namespace


def execute(
    source: str | Path,
    executed: str | Path,
    parameters: Mapping,
    *,
    upstream: Iterable[str] = (),
    inputs: Iterable[str | Path] = (),
    cwd: str | Path = ".",
    kernel: str = KERNEL,
    force: bool = False,
    title_suffix: str = "",
) -> tuple[str, bool]:
    """Execute ``source`` into ``executed`` unless its stamp is current.

    ``title_suffix`` is appended to the notebook's title (its first heading), so
    the book tells apart the pages of one notebook run on several databases.
    ``inputs``: files the page reads that no earlier page wrote (:func:`stamp`).
    Returns ``(stamp, ran)``. Raises ``NotebookFailed`` naming the failed copy.
    """
    source, executed = Path(source), Path(executed)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such notebook")
    wanted = stamp(source, {**parameters, "title_suffix": title_suffix}, upstream, inputs)
    if not force and read_stamp(executed) == wanted and not errors_in(executed):
        return wanted, False
    notebook = jupytext.read(source)
    unknown = set(parameters) - parameter_names(notebook)
    if unknown:  # papermill would warn "Passed unknown parameter" and run without it
        raise NotebookFailed(
            f"{source}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"its parameters cell defines {', '.join(sorted(parameter_names(notebook)))}"
        )
    if title_suffix and notebook.cells and notebook.cells[0].cell_type == "markdown":
        title, _, rest = notebook.cells[0].source.partition("\n")
        notebook.cells[0].source = f"{title}{title_suffix}\n{rest}"
    notebook.metadata[STAMP_KEY] = wanted
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": "Python (mlib)", "language": "python"}
    executed.parent.mkdir(parents=True, exist_ok=True)
    running = executed.parent / f".{executed.stem}.running.ipynb"
    failed_copy = executed.parent / "failed" / executed.name
    try:
        papermill.execute_notebook(
            notebook,
            str(running),
            parameters=dict(parameters),
            kernel_name=kernel,
            cwd=str(cwd),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as exc:
        failed_copy.parent.mkdir(parents=True, exist_ok=True)
        running.replace(failed_copy)
        raise NotebookFailed(
            f"{source} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(the executed copy with the traceback is {failed_copy})"
        ) from exc
    except BaseException:
        running.unlink(missing_ok=True)
        raise
    nbformat.write(for_reading(nbformat.read(running, as_version=4)), running)
    running.replace(executed)
    failed_copy.unlink(missing_ok=True)
    return wanted, True


def check_executed(paths: Iterable[str | Path]) -> None:
    """Raise ``NotebookFailed`` if any executed notebook is missing or holds an error output."""
    problems = []
    for path in map(Path, paths):
        if not path.is_file():
            problems.append(f"{path}: missing (the study did not execute it)")
        else:
            problems += [f"{path}: {error}" for error in errors_in(path)]
    if problems:
        raise NotebookFailed("executed notebooks are not clean:\n  " + "\n  ".join(problems))
