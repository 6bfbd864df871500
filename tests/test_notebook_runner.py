"""The papermill runner: parameters injected, unchanged notebooks skipped, failures kept out."""

from pathlib import Path

import nbformat
import pytest

from mlib.study import notebooks

GOOD = """# %% [markdown]
# # Tiny
#
# A tiny notebook.

# %% tags=["parameters"]
value = 1

# %%
result = value * 2
print("result", result)
"""

BAD = (
    GOOD
    + """
# %%
raise ValueError("broken on purpose")
"""
)


def _outputs(path):
    notebook = nbformat.read(path, as_version=4)
    return "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))


@pytest.fixture
def fixed_code(monkeypatch):
    """Pin mlib's code fingerprint, so that only the notebook and its parameters vary."""
    monkeypatch.setattr(notebooks, "code_fingerprint", lambda source: "code-v1")


@pytest.mark.slow
def test_execute_injects_parameters_and_skips_when_unchanged(tmp_path, fixed_code):
    source = tmp_path / "01-tiny.py"
    source.write_text(GOOD)
    executed = tmp_path / "executed" / "01-tiny.ipynb"

    first, ran = notebooks.execute(source, executed, {"value": 21}, cwd=tmp_path)
    assert ran and "result 42" in _outputs(executed)
    again, ran_again = notebooks.execute(source, executed, {"value": 21}, cwd=tmp_path)
    assert again == first and not ran_again

    changed, ran_changed = notebooks.execute(source, executed, {"value": 5}, cwd=tmp_path, title_suffix=": samm")
    assert ran_changed and changed != first and "result 10" in _outputs(executed)
    assert nbformat.read(executed, as_version=4).cells[0].source.splitlines()[0] == "# Tiny: samm"
    assert [p.name for p in executed.parent.iterdir()] == ["01-tiny.ipynb"]
    tags = [cell.metadata.get("tags", []) for cell in nbformat.read(executed, as_version=4).cells]
    assert ["injected-parameters", "remove-cell"] in tags and ["hide-input"] in tags
    notebooks.check_executed([executed])


@pytest.mark.slow
def test_failed_notebook_is_moved_aside_and_named(tmp_path):
    source = tmp_path / "02-bad.py"
    source.write_text(BAD)
    executed = tmp_path / "executed" / "02-bad.ipynb"
    with pytest.raises(notebooks.NotebookFailed, match="02-bad.py failed .*ValueError: broken on purpose"):
        notebooks.execute(source, executed, {}, cwd=tmp_path)
    assert not executed.exists()
    failed = executed.parent / "failed" / "02-bad.ipynb"
    assert notebooks.errors_in(failed)
    with pytest.raises(notebooks.NotebookFailed, match="missing"):
        notebooks.check_executed([executed])
    with pytest.raises(notebooks.NotebookFailed, match="ValueError"):
        notebooks.check_executed([failed])


def test_stamp_depends_on_upstream_source_and_code(tmp_path, fixed_code, monkeypatch):
    source = tmp_path / "a.py"
    source.write_text(GOOD)
    base = notebooks.stamp(source, {"value": 1})
    assert notebooks.stamp(source, {"value": 1}) == base
    monkeypatch.setattr(notebooks, "code_fingerprint", lambda source: "code-v2")
    assert notebooks.stamp(source, {"value": 1}) != base
    monkeypatch.setattr(notebooks, "code_fingerprint", lambda source: "code-v1")
    assert notebooks.stamp(source, {"value": 1}, upstream=["x"]) != base
    source.write_text(GOOD + "\n# %%\nprint()\n")
    assert notebooks.stamp(source, {"value": 1}) != base


def test_stamp_follows_the_contents_of_the_files_a_page_reads(tmp_path, fixed_code):
    source = tmp_path / "a.py"
    source.write_text(GOOD)
    table = tmp_path / "budget.csv"
    missing = notebooks.stamp(source, {}, inputs=[table])
    table.write_text("rank1\n0.1\n")
    written = notebooks.stamp(source, {}, inputs=[table])
    assert written != missing and notebooks.stamp(source, {}, inputs=[table]) == written
    table.write_text("rank1\n0.7\n")  # `make motion` rewrote the committed table: the page is stale
    assert notebooks.stamp(source, {}, inputs=[table]) != written


def test_the_pages_that_read_the_published_budget_list_it_unless_they_write_it():
    from mlib.study.runner import StudyRunner

    profiles = Path(__file__).resolve().parents[1] / "configs" / "profiles"
    book = StudyRunner(profiles / "default.yaml")
    assert book.published_budget == [book.cfg["budget"]["published"]] == ["book/motion-budget/budget.csv"]
    assert StudyRunner(profiles / "motion.yaml").published_budget == []


def test_a_parameter_the_notebook_does_not_define_is_refused_before_running(tmp_path):
    source = tmp_path / "01-tiny.py"
    source.write_text(GOOD)
    executed = tmp_path / "executed" / "01-tiny.ipynb"
    with pytest.raises(notebooks.NotebookFailed, match="unknown parameter.*runs_dir.*defines value"):
        notebooks.execute(source, executed, {"value": 2, "runs_dir": "x"}, cwd=tmp_path)
    assert not executed.parent.exists()


def test_for_reading_hides_code_and_parameters_and_keeps_warnings_visible():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title"),
            nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("profile = 'ci'", metadata={"tags": ["injected-parameters"]}),
            nbformat.v4.new_code_cell(
                "print(1)",
                outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="/tmp/x.py: FutureWarning: old\n"),
                ],
            ),
            nbformat.v4.new_code_cell("import sys", metadata={"tags": ["remove-cell"]}),
        ]
    )
    cells = notebooks.for_reading(notebook).cells
    assert "tags" not in cells[0].metadata
    assert cells[1].metadata["tags"] == ["parameters", "remove-cell"]
    assert cells[2].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert cells[3].metadata["tags"] == ["hide-input"]
    assert [out["name"] for out in cells[3].outputs] == ["stdout", "stderr"]  # fixed at the cause, not hidden
    assert cells[4].metadata["tags"] == ["remove-cell"]
