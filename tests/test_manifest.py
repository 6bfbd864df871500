"""The study manifest: what the study runner writes is what the results page reads."""

import json

import pytest

from mlib.report.manifest import Corpus, StudyManifest


def test_written_manifest_reads_back_equal_and_names_each_corpus(tmp_path):
    written = StudyManifest(
        "ci",
        "configs/profiles/ci.yaml",
        "synthetic",
        {"model": {"alpha": 4}},
        [
            Corpus("casme2", "data/ci/casme2", paths={"train": "runs/abc"}),
            Corpus("casme2", "data/ci/casme2-motion-only", "motion-only"),
            Corpus("casme2", "data/ci/casme2-twins", "twins"),
        ],
        executed=["book/executed/00-results.ipynb"],
        pages={"controls": "results/ci/controls"},
    )
    written.write(tmp_path / "study.json")
    read = StudyManifest.load(tmp_path / "study.json")
    assert read == written and read.synthetic and read.pages["controls"] == "results/ci/controls"
    assert [v["name"] for v in json.loads((tmp_path / "study.json").read_text())["corpora"]] == [
        "casme2",
        "casme2-motion-only",
        "casme2-twins",
    ]
    assert read.corpus("casme2-motion-only").root == "data/ci/casme2-motion-only"
    with pytest.raises(KeyError, match="no corpus 'samm' \\(it has casme2, casme2-motion-only, casme2-twins\\)"):
        read.corpus("samm")


def test_a_file_that_is_not_a_manifest_is_named(tmp_path):
    (tmp_path / "study.json").write_text(json.dumps({"profile": "ci"}))
    with pytest.raises(ValueError, match="study.json: not a study manifest"):
        StudyManifest.load(tmp_path / "study.json")


def test_a_manifest_written_before_pages_existed_reads_with_none(tmp_path):
    written = StudyManifest("ci", "ci.yaml", "real", {}, [Corpus("samm", "data/real/SAMM")])
    raw = {
        k: v for k, v in json.loads(json.dumps(written.__dict__, default=lambda o: o.__dict__)).items() if k != "pages"
    }
    (tmp_path / "study.json").write_text(json.dumps(raw))
    assert StudyManifest.load(tmp_path / "study.json").pages == {}
