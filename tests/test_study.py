"""The study runner's plan and its check for real data (the full run is in test_book_browser)."""

import torch

from mlib import config, study


def test_synthetic_profiles_add_a_motion_only_corpus_per_database():
    cfg = config.resolve("configs/profiles/default.yaml")
    names = [(v.name, v.root, v.mode) for v in study.variants(cfg)]
    assert names == [("casme2", "data/synthetic/casme2", "identity"),
                     ("casme2-motion-only", "data/synthetic/casme2-motion-only", "motion-only")]


def test_real_profiles_run_each_database_once():
    cfg = config.resolve("configs/profiles/full.yaml")
    assert [v.name for v in study.variants(cfg)] == ["casme2", "samm", "smic"]


def test_single_run_uses_the_papers_table1_choice():
    cfg = config.resolve("configs/profiles/full.yaml")
    smic = study.training_overrides(cfg, study.Variant("smic", "x"))
    assert (smic["alpha"], smic["beta_inv"], smic["optimizer"]) == (16, 16, "adam")


def test_real_data_check_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "CASME2").mkdir()
    roots = [f"study.roots.{name}={tmp_path / folder}" for name, folder in study.REAL_FOLDERS.items()]
    missing = study.check_real_data(config.resolve("configs/profiles/full.yaml", roots))
    assert missing[0].startswith("no CUDA GPU")
    assert any(line.startswith("casme2:") and "CASME2_RAW_selected" in line for line in missing), missing
    assert any(line.startswith("samm:") and "SAMM" in line and "no such folder" in line for line in missing), missing
    assert len(missing) == 4
