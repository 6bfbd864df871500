"""Every notebook: jupytext percent source, a papermill parameters cell, the Colab install cell."""

from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.py"))
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_the_study_has_its_notebooks():
    stems = {path.stem.split("-", 1)[0] for path in NOTEBOOKS}
    assert {"00", "01", "02", "03", "04", "05", "07"} <= stems


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
