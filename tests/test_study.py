"""The study runner's plan, what it passes each notebook, and its check for real data
(the full run is in test_book_browser)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from mlib.core import config

from mlib.experiments import controls, grid, positive_controls

from mlib.study import notebooks, runner as study

from mlib import paper
from mlib.report.manifest import StudyManifest, Corpus
from mlib.preprocess.splits import write_splits
from mlib.synth import corpus_specs
from mlib.synth.layouts import write_corpus
from mlib.training.train import run_folder
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


def test_synthetic_profiles_add_a_motion_only_and_a_twins_corpus_per_database():
    cfg = config.resolve("configs/profiles/default.yaml")
    names = [(v.name, v.root, v.mode) for v in study.corpora(cfg)]
    assert names == [("casme2", "data/synthetic/casme2", "identity"),
                     ("casme2-motion-only", "data/synthetic/casme2-motion-only", "motion-only"),
                     ("casme2-twins", "data/synthetic/casme2-twins", "twins")]
    no_twins = config.resolve("configs/profiles/default.yaml", {"study.twins": False})
    assert [v.mode for v in study.corpora(no_twins)] == ["identity", "motion-only"]


def test_profiles_choose_their_controls_and_the_page_names_what_was_cut():
    default, full = config.resolve("configs/profiles/default.yaml"), config.resolve(FULL)
    assert "static-first" not in study.control_variants(default) and "clip" in study.control_variants(default)
    assert study.control_variants(full) == list(controls.VARIANTS) and full["split"]["repeats"] == 3
    assert len(study.control_variants(config.resolve("configs/profiles/ci.yaml"))) == 2
    scope = study.controls_scope(default)
    assert "leaves out static-first" in scope and "1 split seed " in scope and "no spread over splits" in scope
    assert "leaves out" not in study.controls_scope(full) and "3 split seeds" in study.controls_scope(full)
    with pytest.raises(config.ConfigError, match="controls.variants: expected some of clip, .*got \\['motion'\\]"):
        study.control_variants(config.resolve(overrides={"controls.variants": ["motion"]}))
    with pytest.raises(config.ConfigError, match="split.repeats: kay2023-original is the original's one split"):
        study.StudyRunner(Path(FULL), ["split.protocol=kay2023-original"])


def test_the_default_study_adds_about_twelve_runs():
    """The budget of issue 10: the controls train at most 12 runs beyond notebook 02's on the default profile."""
    cfg = config.resolve("configs/profiles/default.yaml")
    corpora, chosen = study.corpora(cfg), study.control_variants(cfg)
    new_runs = len(corpora) * (len(chosen) * cfg["split"]["repeats"] - ("clip" in chosen))
    assert new_runs <= 12, new_runs


def test_real_profiles_run_each_database_once():
    cfg = config.resolve(FULL)
    assert [v.name for v in study.corpora(cfg)] == ["casme2", "samm", "smic"]


def test_table1_batch_is_the_papers_on_full_and_the_profiles_on_cpu_profiles():
    smic = study.table1_overrides(config.resolve(FULL), "smic")
    assert (smic["model.alpha"], smic["model.beta_inv"], smic["train.optimizer"]) == (16, 16, "adam")
    assert smic["train.batch_size"] == paper.TABLE1["smic"]["batch_size"] == 32
    assert "train.batch_size" not in study.table1_overrides(config.resolve("configs/profiles/ci.yaml"), "smic")
    with pytest.raises(config.ConfigError, match="study.table1_batch: 'gpu' is not allowed; allowed: one of paper, profile"):
        config.resolve(overrides={"study.table1_batch": "gpu"})


@pytest.mark.parametrize("profile, dataset", [(FULL, "casme2"), (FULL, "samm"), (FULL, "smic"),
                                              ("configs/profiles/default.yaml", "casme2"),
                                              ("configs/profiles/ci.yaml", "casme2")])
def test_the_single_table1_run_is_one_of_the_grids_runs(tmp_path, profile, dataset):
    """Notebook 02's run folder is a configuration of the profile's grid: it is trained once."""
    cache, split = tiny_inputs(tmp_path, dataset)
    cfg = config.resolve(profile)
    variant = Corpus(dataset, "root", paths={"cache": str(cache), "split": str(split)})
    runs = tmp_path / "runs"
    single = config.resolve(profile, study.single_run_overrides(cfg, variant, runs))
    page = config.resolve(profile, study.corpus_overrides(cfg, variant))  # what notebook 04 resolves
    planned = grid.plan(page["grid"]["file"], profile=page, cache=cache, split=split, out=runs,
                        seeds=page["grid"]["seeds"])
    assert run_folder(single) in [run.run_dir for run in planned]


def test_notebook_02_by_hand_with_the_full_profile_trains_what_the_study_would(tmp_path):
    cache, split = tiny_inputs(tmp_path)
    runner = study.StudyRunner(Path(FULL), executed_dir=tmp_path / "executed")
    variant = runner.corpora[0]
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


def fake_notebooks(monkeypatch, preprocess) -> list:
    """Replace notebook execution by a check that each page gets only its parameters; ``preprocess(parameters)``
    stands in for notebook 01 and returns the cache it made. Returns the (stem, parameters) given, in order."""
    given = []

    def fake_execute(source, executed, parameters, **_):
        notebook = notebooks.jupytext.read(source)
        assert set(parameters) <= notebooks.parameter_names(notebook), source
        cfg = config.resolve(parameters["profile"], parameters["overrides"])
        given.append((Path(source).stem, parameters))
        if Path(source).stem == "01-preprocess":
            cache = preprocess(cfg)
            split = write_splits(cache, cfg["split"]["protocol"], test_size=cfg["split"]["test_size"],
                                 val_size=cfg["split"]["val_size"], seed=cfg["split"]["seed"])[0]
            Path(parameters["out_dir"]).mkdir(parents=True)
            (Path(parameters["out_dir"]) / "data.json").write_text(json.dumps({"cache": str(cache), "split": str(split)}))
        return "stamp", True

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    monkeypatch.setattr(notebooks, "check_executed", lambda paths: None)
    return given


def test_the_study_passes_each_notebook_only_its_parameters(tmp_path, monkeypatch):
    """The whole synthetic plan: three corpora, then the controls over all of them, the original grid, results."""
    cache = write_tiny_cache(tmp_path / "tiny", subjects=3, clips_per_subject=4)

    def preprocess(cfg):  # the generator's truth, as notebook 01 writes it with the corpus
        specs = corpus_specs(subjects=4, clips_per_subject=4, single_clip_subjects=0, short_clip_fraction=0.0,
                             frame_size=(64, 80), fps=200, mode=cfg["synth"]["mode"], seed=0)
        truth = Path(cfg["data"]["root"]) / "synth_truth" / "truth.csv"
        truth.parent.mkdir(parents=True)
        positive_controls.truth_from_specs(specs).to_csv(truth, index=False)
        return cache

    given = fake_notebooks(monkeypatch, preprocess)
    runner = study.StudyRunner(Path("configs/profiles/ci.yaml"), [f"study.results={tmp_path / 'results'}",
                                                                  f"study.roots.casme2={tmp_path / 'data'}"],
                               executed_dir=tmp_path / "executed")
    runner.run()
    stems = [stem for stem, _ in given]
    assert stems == ["01-preprocess", "02-train", "03-baseline", "04-grid-search", "05-ensemble", "06-gradcam",
                     "01-preprocess", "02-train", "03-baseline", "01-preprocess", "02-train", "03-baseline",
                     "07-controls", "08-original-grid", "09-unseen", "00-results"]
    assert [p["overrides"]["synth.mode"] for stem, p in given if stem == "02-train"] == ["identity", "motion-only", "twins"]
    train = next(parameters for stem, parameters in given if stem == "02-train")  # the casme2 corpus
    assert train["overrides"]["study.results"] == str(tmp_path / "results")  # --set reaches every page
    manifest = StudyManifest.load(tmp_path / "results" / "ci" / "study.json")
    assert manifest.corpus("casme2").paths["train"] == str(run_folder(
        notebooks.configuration(ROOT / "notebooks" / "02-train.py", train)["cfg"]))
    assert [Path(p).name for p in manifest.executed][-4:] == ["07-controls.ipynb", "08-original-grid.ipynb",
                                                              "09-unseen.ipynb", "00-results.ipynb"]
    assert manifest.pages == {"controls": str(tmp_path / "results" / "ci" / "controls"),
                              "original_grid": str(tmp_path / "results" / "ci" / "original-grid"),
                              "unseen": str(tmp_path / "results" / "ci" / "unseen")}
    unseen = dict(given)["09-unseen"]  # the controls' corpora (their runs reused) with each root and mode
    assert unseen["out"] == manifest.pages["unseen"]
    assert {name: (c["root"], c["mode"]) for name, c in unseen["corpora"].items()} == {
        v.name: (v.root, v.mode) for v in manifest.corpora}
    assert all(c["runs_dir"] == dict(given)["07-controls"]["corpora"][name]["runs_dir"]
               for name, c in unseen["corpora"].items())

    page = dict(given)["07-controls"]
    assert page["out"] == manifest.pages["controls"] and "variants" not in page  # the page reads controls.variants
    assert list(page["corpora"]) == ["casme2", "casme2-motion-only", "casme2-twins"]
    cfg = config.resolve(page["profile"], page["overrides"])
    for name, corpus in page["corpora"].items():
        variant = manifest.corpus(name)
        assert len(corpus["split"]) == cfg["split"]["repeats"] == 2 and corpus["split"][0] == variant.paths["split"]
        assert corpus["runs_dir"] == variant.paths["runs"] and 0 <= corpus["positive_control"] <= 1
        clip = controls.variant_config(config.resolve(cfg, corpus["overrides"]), "clip", corpus["cache"],
                                       corpus["split"][0], corpus["runs_dir"])
        assert str(run_folder(clip)) == variant.paths["train"]  # the clip control is notebook 02's run, reused
    # the twins corpus names its truth (face groups); the knob table's motion-only corpora lie beside the study's
    assert [name for name, corpus in page["corpora"].items() if "twins" in corpus] == ["casme2-twins"]
    assert page["corpora"]["casme2-twins"]["twins"] == {"truth": manifest.corpus("casme2-twins").root,
                                                      "twin_group": cfg["synth"]["twin_group"]}
    assert page["motion_features_dir"] == str(tmp_path / "positive-controls")
    ensemble = dict(given)["05-ensemble"]  # Table 3 over the split seeds, in the runs folder the grid shares
    assert ensemble["splits"] == manifest.corpus("casme2").paths["splits"] and len(ensemble["splits"]) == 2
    assert ensemble["runs_dir"] == ensemble["grid_dir"] == manifest.corpus("casme2").paths["runs"]
    assert dict(given)["08-original-grid"]["grid_dirs"] == [manifest.corpus("casme2").paths["grid"]]
    assert dict(given)["08-original-grid"]["out"] == manifest.pages["original_grid"]


def test_reproduce_runs_the_controls_on_real_roots_without_synthetic_corpora(tmp_path, monkeypatch):
    """``make reproduce`` on a synthetic corpus passed as real data: the database is read from its root as it is,
    one corpus per database, no motion-only or twins corpus, and no positive control."""
    specs = corpus_specs(subjects=3, clips_per_subject=3, single_clip_subjects=0, short_clip_fraction=0.0,
                         frame_size=(64, 80), fps=200, seed=0)
    root = write_corpus(tmp_path / "CASME2", "casme2", specs, workers=1, progress=False)

    def preprocess(cfg):  # notebook 01's preparation of a real root
        from mlib.datasets import load_dataset
        from mlib.preprocess import prepare_cache

        assert cfg["data"]["root"] == str(root)
        prepare = cfg["prepare"]
        clips = load_dataset("casme2", root).clips
        return prepare_cache(clips, tmp_path / "cache", dataset="casme2", root=str(root), window=prepare["window"],
                             face_size=prepare["face_size"], margin=prepare["margin"], workers=1, progress=False)

    given = fake_notebooks(monkeypatch, preprocess)
    runner = study.StudyRunner(Path("configs/profiles/ci.yaml"), [
        "study.data=real", f"study.roots.casme2={root}", f"study.results={tmp_path / 'results'}"],
        executed_dir=tmp_path / "executed")
    runner.run()
    assert [stem for stem, _ in given] == ["01-preprocess", "02-train", "03-baseline", "04-grid-search", "05-ensemble",
                                           "06-gradcam", "07-controls", "08-original-grid", "09-unseen", "00-results"]
    corpora = dict(given)["07-controls"]["corpora"]
    assert list(corpora) == ["casme2"] and corpora["casme2"]["positive_control"] is None
    assert "twins" not in corpora["casme2"] and dict(given)["07-controls"]["motion_features_dir"] is None
    assert "synth.mode" not in dict(given)["02-train"]["overrides"]


def test_check_on_a_partial_data_root_prints_one_line_per_problem(tmp_path, capsys):
    """``mlib study --check``: CASME II present, SAMM missing, SMIC without its spreadsheet."""
    from mlib.commands import cli
    from mlib.synth.layouts import LAYOUTS

    specs = corpus_specs(subjects=2, clips_per_subject=2, single_clip_subjects=0, short_clip_fraction=0.0,
                         frame_size=(48, 48), fps=200, seed=0)
    write_corpus(tmp_path / "data" / "CASME2", "casme2", specs, workers=1, progress=False)
    smic = write_corpus(tmp_path / "data" / "SMIC", "smic", specs, workers=1, progress=False)
    (smic / LAYOUTS["smic"].adapter.annotation).unlink()
    code = cli.main(["study", "--profile", "configs/profiles/full.yaml", "--data-root", str(tmp_path / "data"), "--check"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    problems = [line for line in err if line.startswith("missing: ")]
    assert not any(line.startswith("missing: casme2") for line in problems)
    assert sum(line.startswith("missing: samm: ") for line in problems) == 1
    assert sum(line.startswith("missing: smic: ") for line in problems) == 1
    assert len(problems) == 2 + (not torch.cuda.is_available()) and "Traceback" not in "\n".join(err)
