"""The Colab path as Colab runs it: the project installed from a wheel (not editable) in a fresh
virtual environment, each notebook copied alone into an empty folder and executed there.

Notebooks 01 -> 02 -> 06 run one after another in one folder at the ``ci`` size: 01 generates
its synthetic corpus and records its cache and split (``figures/01-preprocess/data.json``), 02
trains on them, 06 explains the run 02 trained. Nothing of the repository is beside them: the
profile is found in the package's own copy (``mlib.core.config.locate``). The environment's
third-party packages come from the project's ``.venv`` through a path file, so the test
installs only the wheel (a Colab runtime has them from its first cell's ``pip install``).
Colab's Python is 3.12; Debian's here is 3.11 (``requires-python`` admits both).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["01-preprocess", "02-train", "06-gradcam"]
BUILD_IGNORES = (
    ".git",
    ".venv",
    "data",
    "cache",
    "runs",
    "results",
    "private",
    "book",
    "build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
)


CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # nothing of the checkout


def _run(*command, **options):
    done = subprocess.run(command, capture_output=True, text=True, **{"env": CLEAN_ENV, **options})
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """A fresh venv holding the project's wheel and a kernel of its own."""
    base = tmp_path_factory.mktemp("colab")
    source = base / "source"  # setuptools builds in the source tree: build from a copy, not the checkout
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*BUILD_IGNORES))
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(base / "dist"),
        str(source),
    )
    wheel = next((base / "dist").glob("mlib-*.whl"))
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    packages = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(packages), str(wheel))
    (packages / "third_party.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "colab-test")
    return python


def test_the_wheel_ships_the_profiles_grids_and_reference_data(wheel_env, tmp_path):
    found = _run(
        str(wheel_env),
        "-c",
        (
            "import mlib, mlib.core.config as c; print(mlib.__file__); "
            "print(c.locate('configs/profiles/ci.yaml')); print(c.locate('ci')); "
            "print(c.locate('configs/grids/kay2023.yaml')); "
            "from importlib import resources; print(resources.files('mlib').joinpath('paper', 'reference').is_dir())"
        ),
        cwd=tmp_path,
    ).split()
    package = Path(found[0]).parent
    assert ROOT not in package.parents, "the venv must import the installed wheel, not the checkout"
    assert found[1] == found[2] == str(package / "configs" / "profiles" / "ci.yaml")
    assert found[3] == str(package / "configs" / "grids" / "kay2023.yaml") and found[4] == "True"


@pytest.mark.slow
def test_notebooks_01_02_06_run_alone_in_an_empty_folder_from_the_wheel(wheel_env, tmp_path):
    env = {**CLEAN_ENV, "OMP_NUM_THREADS": "2"}
    for page in PAGES:
        notebook = tmp_path / f"{page}.ipynb"
        nbformat.write(jupytext.read(ROOT / "notebooks" / f"{page}.py"), notebook)
        _run(
            str(wheel_env),
            "-m",
            "papermill",
            "-k",
            "colab-test",
            "--cwd",
            str(tmp_path),
            "-p",
            "profile",
            "configs/profiles/ci.yaml",
            str(notebook),
            str(tmp_path / f"{page}.out.ipynb"),
            cwd=tmp_path,
            env=env,
        )
    recorded = json.loads((tmp_path / "figures" / "01-preprocess" / "data.json").read_text())
    assert Path(tmp_path / recorded["cache"]).is_dir() and Path(tmp_path / recorded["split"]).is_file()
    runs = [path.parent for path in (tmp_path / "runs").glob("*/metrics.json")]
    assert len(runs) == 1, "02 trains one run on 01's cache and split"
    assert list(runs[0].glob("gradcam-*")), "06 explains the run 02 trained"
    assert {path.name for path in tmp_path.iterdir()} >= {f"{page}.ipynb" for page in PAGES}
    assert not (tmp_path / "configs").exists() and not (tmp_path / "notebooks").exists()
