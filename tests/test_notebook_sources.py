"""Every notebook: jupytext percent source, a papermill parameters cell holding only the profile,
the overrides and the page's paths, a configuration cell after it, the Colab install cell."""

from pathlib import Path

import jupytext
import pytest
import yaml

from mlib.study import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.py"))
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_the_study_has_its_notebooks():
    stems = {path.stem.split("-", 1)[0] for path in NOTEBOOKS}
    assert {"00", "01", "02", "03", "04", "05", "06"} <= stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_the_profile_the_overrides_and_paths_and_the_next_cell_resolves_them(path):
    notebook = jupytext.read(path)
    start = notebooks.parameters_cell(notebook)
    defaults: dict = {}
    exec(notebook.cells[start].source, defaults)  # noqa: S102 - the notebook's own parameters cell
    names = notebooks.parameter_names(notebook)
    assigned = {name for name in defaults if not name.startswith("__")}
    assert names == assigned, "papermill's parser must see every parameter (no '=' in a parameter's comment)"
    assert {"profile", "overrides"} <= names and defaults["profile"] is None and defaults["overrides"] == {}
    paths = {name: defaults[name] for name in names - {"profile", "overrides"}}
    is_path = lambda value: value is None or isinstance(value, str)  # noqa: E731
    assert all(is_path(value) or (isinstance(value, list) and all(map(is_path, value))) for value in paths.values()), (
        f"not a path or a list of paths: {paths}"
    )
    config_cell = next(cell for cell in notebook.cells[start + 1 :] if cell.cell_type == "code")
    assert "cfg = config.resolve(profile, overrides)" in config_cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_parameters_and_installs_itself_on_colab(path):
    notebook = jupytext.read(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# "), "a title first"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    first = code[0].source
    assert '"google.colab" in sys.modules' in first and f"git+{REPOSITORY}" in first, (
        "the first code cell installs the project on Colab from the repository in _config.yml"
    )
    assert code.index(tagged[0]) == 1, "the parameters cell follows the Colab cell"
    assert notebook.metadata["kernelspec"]["name"] == "mlib"
