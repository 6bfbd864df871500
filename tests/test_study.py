"""The study runner's plan, what it passes each notebook, and its check for real data
(the full run is in test_book_browser)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from mlib import config, grid, notebooks, paper, study
from mlib.manifest import StudyManifest, Variant
from mlib.train import run_folder
from tiny_caches import write_split, write_tiny_cache

ROOT = Path(__file__).resolve().parents[1]
FULL = "configs/profiles/full.yaml"


@pytest.fixture(autouse=True)
def _at_the_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # profiles and grids are named relative to it, as `make book` runs


def tiny_inputs(folder: Path, dataset: str = "casme2") -> tuple[Path, Path]:
    """A tiny prepared cache of ``dataset`` and its split file."""
    cache = write_tiny_cache(folder, subjects=3, clips_per_subject=4)
    index = pd.read_csv(cache / "index.csv", dtype=str).assign(dataset=dataset)
    index.to_csv(cache / "index.csv", index=False)
    settings = json.loads((cache / "settings.json").read_text())
    (cache / "settings.json").write_text(json.dumps({**settings, "dataset": dataset}))
    return cache, write_split(cache, n_train=2, n_val=1)


def test_synthetic_profiles_add_a_motion_only_corpus_per_database():
    cfg = config.resolve("configs/profiles/default.yaml")
    names = [(v.name, v.root, v.mode) for v in study.variants(cfg)]
    assert names == [("casme2", "data/synthetic/casme2", "identity"),
                     ("casme2-motion-only", "data/synthetic/casme2-motion-only", "motion-only")]


def test_real_profiles_run_each_database_once():
    cfg = config.resolve(FULL)
    assert [v.name for v in study.variants(cfg)] == ["casme2", "samm", "smic"]


def test_table1_batch_is_the_papers_on_full_and_the_profiles_on_cpu_profiles():
    smic = study.table1_overrides(config.resolve(FULL), "smic")
    assert (smic["model.alpha"], smic["model.beta_inv"], smic["train.optimizer"]) == (16, 16, "adam")
    assert smic["train.batch_size"] == paper.TABLE1["smic"]["batch_size"] == 32
    assert "train.batch_size" not in study.table1_overrides(config.resolve("configs/profiles/ci.yaml"), "smic")
    with pytest.raises(config.ConfigError, match="study.table1_batch: expected paper or profile"):
        study.table1_overrides(config.resolve(overrides={"study.table1_batch": "gpu"}), "smic")


@pytest.mark.parametrize("profile, dataset", [(FULL, "casme2"), (FULL, "samm"), (FULL, "smic"),
                                              ("configs/profiles/default.yaml", "casme2"),
                                              ("configs/profiles/ci.yaml", "casme2")])
def test_the_single_table1_run_is_one_of_the_grids_runs(tmp_path, profile, dataset):
    """Notebook 02's run folder is a configuration of the profile's grid: it is trained once."""
    cache, split = tiny_inputs(tmp_path, dataset)
    cfg = config.resolve(profile)
    variant = Variant(dataset, "root", paths={"cache": str(cache), "split": str(split)})
    runs = tmp_path / "runs"
    single = config.resolve(profile, study.single_run_overrides(cfg, variant, runs))
    page = config.resolve(profile, study.corpus_overrides(cfg, variant))  # what notebook 04 resolves
    planned = grid.plan(page["study"]["grid"], profile=page, cache=cache, split=split, out=runs,
                        seeds=page["study"]["seeds"])
    assert run_folder(single) in [run.run_dir for run in planned]


def test_notebook_02_by_hand_with_the_full_profile_trains_what_the_study_would(tmp_path):
    cache, split = tiny_inputs(tmp_path)
    runner = study.StudyRunner(Path(FULL), executed_dir=tmp_path / "executed")
    variant = runner.variants[0]
    variant.paths.update(cache=str(cache), split=str(split))
    single = study.single_run_overrides(runner.cfg, variant, tmp_path / "runs")
    studied = runner.resolved(single)
    source = ROOT / "notebooks" / "02-train.py"
    by_study = notebooks.configuration(source, runner.parameters(single, {}))["cfg"]
    by_hand = notebooks.configuration(source, {"profile": FULL, "overrides": {
        "run.cache": str(cache), "run.split": str(split), "run.out": str(tmp_path / "runs")}})["cfg"]
    for cfg in (by_study, by_hand):
        assert {key: cfg[key] for key in ("model", "train", "run")} == {key: studied[key] for key in ("model", "train", "run")}
        assert run_folder(cfg) == run_folder(studied)
    assert (studied["model"]["depth"], studied["model"]["size"], studied["train"]["epochs"]) == (50, 224, 120)
    with pytest.raises(notebooks.NotebookFailed, match="unknown parameter.*cache"):
        notebooks.configuration(source, {"profile": FULL, "cache": str(cache)})


def test_the_study_passes_each_notebook_only_its_parameters(tmp_path, monkeypatch):
    """The whole plan with the notebooks replaced by a check of what they would be given."""
    cache, split = tiny_inputs(tmp_path)
    given = []

    def fake_execute(source, executed, parameters, **_):
        notebook = notebooks.jupytext.read(source)
        assert set(parameters) <= notebooks.parameter_names(notebook), source
        assert config.resolve(parameters["profile"], parameters["overrides"])
        given.append((Path(source).stem, parameters))
        if Path(source).stem == "01-preprocess":
            Path(parameters["out_dir"]).mkdir(parents=True)
            (Path(parameters["out_dir"]) / "data.json").write_text(json.dumps({"cache": str(cache), "split": str(split)}))
        return "stamp", True

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    monkeypatch.setattr(notebooks, "check_executed", lambda paths: None)
    runner = study.StudyRunner(Path("configs/profiles/ci.yaml"), [f"study.results={tmp_path / 'results'}"],
                               executed_dir=tmp_path / "executed")
    runner.run()
    stems = [stem for stem, _ in given]
    assert stems == ["01-preprocess", "02-train", "03-baseline", "04-grid-search", "05-ensemble", "06-gradcam",
                     "01-preprocess", "02-train", "03-baseline", "00-results"]
    train = next(parameters for stem, parameters in given if stem == "02-train")  # the casme2 corpus
    assert train["overrides"]["study.results"] == str(tmp_path / "results")  # --set reaches every page
    manifest = StudyManifest.load(tmp_path / "results" / "ci" / "study.json")
    assert manifest.variant("casme2").paths["train"] == str(run_folder(
        notebooks.configuration(ROOT / "notebooks" / "02-train.py", train)["cfg"]))
    assert [Path(p).name for p in manifest.executed][-1] == "00-results.ipynb"


def test_real_data_check_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "CASME2").mkdir()
    roots = [f"study.roots.{name}={tmp_path / folder}" for name, folder in study.REAL_FOLDERS.items()]
    missing = study.check_real_data(config.resolve(FULL, roots))
    assert missing[0].startswith("no CUDA GPU")
    assert any(line.startswith("casme2:") and "CASME2_RAW_selected" in line for line in missing), missing
    assert any(line.startswith("samm:") and "SAMM" in line and "no such folder" in line for line in missing), missing
    assert len(missing) == 4
