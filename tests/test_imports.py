"""Which mlib code a page reaches: read from the text, relative and lazy imports included."""

from mlib.core import imports
from mlib.study import notebooks


def _script(tmp_path, text):
    path = tmp_path / "page.py"
    path.write_text(text)
    return path


def test_a_page_reaches_what_it_imports_and_their_imports_transitively(tmp_path):
    only_paper = _script(tmp_path, "from mlib import paper\n")
    assert imports.reached_modules(only_paper) == {"mlib", "mlib.paper"}
    # mlib.report.cost imports grid and paper; grid imports train, which imports models
    reached = imports.reached_modules(_script(tmp_path, "import mlib.report.cost\n"))
    assert {"mlib.report.cost", "mlib.experiments.grid", "mlib.training.train", "mlib.training.models"} <= reached
    assert "mlib.gradcam" not in reached


def test_lazy_relative_and_string_imports_count(tmp_path):
    lazy = _script(tmp_path, "def f():\n    from mlib.gradcam import scores\n")
    assert {"mlib.gradcam", "mlib.gradcam.scores"} <= imports.reached_modules(lazy)
    # mlib/datasets/casme2.py: `from .base import Adapter`
    assert "mlib.datasets.base" in imports.direct_imports(imports.module_file("mlib.datasets.casme2"))
    # config.Choices("mlib.synth.render:MODES") imports the module when a value is checked
    assert "mlib.synth.render" in imports.direct_imports(imports.module_file("mlib.core.config"))
    # names imported from a module that are not modules are not counted
    assert imports.direct_imports(_script(tmp_path, "from mlib.paper import TABLE1\n")) == {"mlib", "mlib.paper"}


def test_a_page_reexecutes_on_an_edit_of_code_it_reaches_only(tmp_path, monkeypatch):
    package = tmp_path / "mlib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "defaults.yaml").write_text("a: 1\n")
    (package / "used.py").write_text("from . import helper\n")
    (package / "helper.py").write_text("X = 1\n")
    (package / "unused.py").write_text("Y = 1\n")
    monkeypatch.setattr(imports, "PACKAGE_DIR", package)
    page = _script(tmp_path, "from mlib import used\n")
    first = notebooks.stamp(page, {})
    (package / "unused.py").write_text("Y = 2\n")
    assert notebooks.stamp(page, {}) == first
    (package / "helper.py").write_text("X = 2\n")
    second = notebooks.stamp(page, {})
    assert second != first
    (package / "defaults.yaml").write_text("a: 2\n")
    assert notebooks.stamp(page, {}) != second


def test_a_page_stamp_follows_only_the_code_it_reaches(tmp_path):
    light = tmp_path / "light.py"
    light.write_text("from mlib import paper\n")
    heavy = tmp_path / "heavy.py"
    heavy.write_text("from mlib import train\n")
    assert notebooks.code_fingerprint(light) != notebooks.code_fingerprint(heavy)
    assert notebooks.code_fingerprint(light) == notebooks.code_fingerprint(light)
    assert notebooks.stamp(light, {}) != notebooks.stamp(heavy, {})
