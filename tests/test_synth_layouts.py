"""The synthetic corpus writer: determinism, rerun/resume via the manifest, truth files."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlib.datasets import load_dataset
from mlib.synth import corpus_specs, render_clip
from mlib.synth.layouts import LAYOUTS, MANIFEST, TRUTH_DIR, write_corpus


def specs_for(layout, seed=0, subjects=2, clips=2):
    return corpus_specs(
        subjects=subjects,
        clips_per_subject=clips,
        single_clip_subjects=0,
        short_clip_fraction=0.5,
        frame_size=(64, 80),
        fps=LAYOUTS[layout].fps,
        seed=seed,
    )


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class FailingRender:
    """Renders normally until ``fail_at`` clips were rendered, then raises: a run killed midway."""

    def __init__(self, fail_at=None):
        self.fail_at, self.calls = fail_at, []

    def __call__(self, spec):
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt("killed")
        self.calls.append((spec.subject, spec.index))
        return render_clip(spec)


def test_same_seed_gives_byte_identical_files_whatever_the_worker_count(tmp_path):
    specs = specs_for("samm")
    a = tree_hashes(write_corpus(tmp_path / "a", "samm", specs, workers=2, progress=False))
    b = tree_hashes(write_corpus(tmp_path / "b", "samm", specs, workers=1, progress=False))
    assert a == b
    assert any(name.endswith(".jpg") for name in a) and any(name.endswith(".npz") for name in a)
    assert "SAMM_Micro_FACS_Codes_v2.xlsx" in a
    other = tree_hashes(write_corpus(tmp_path / "c", "samm", specs_for("samm", seed=1), workers=1, progress=False))
    assert other != a


def test_manifest_makes_a_rerun_a_no_op_and_new_settings_rewrite(tmp_path):
    specs = specs_for("casme2")
    root = write_corpus(tmp_path / "c", "casme2", specs, workers=1, progress=False)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    never = FailingRender(fail_at=0)
    write_corpus(root, "casme2", specs, workers=1, progress=False, render=never)
    assert never.calls == []
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before

    fewer = specs_for("casme2", clips=1)
    write_corpus(root, "casme2", fewer, workers=1, progress=False)
    manifest = json.loads((root / MANIFEST).read_text())
    assert len(manifest["specs"]) == 2
    assert len(load_dataset("casme2", root).clips) == 2
    assert not load_dataset("casme2", root).problems  # the old clip folders were removed


def test_a_killed_run_resumes_and_ends_identical_to_a_clean_run(tmp_path):
    specs = specs_for("smic")
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        write_corpus(killed, "smic", specs, workers=1, progress=False, render=FailingRender(fail_at=2))
    assert not (killed / MANIFEST).exists()
    assert not (killed / "SMIC-HS-E_annotation.xlsx").exists()
    resumed = FailingRender()
    write_corpus(killed, "smic", specs, workers=1, progress=False, render=resumed)
    assert resumed.calls == [(s.subject, s.index) for s in specs[2:]]
    clean = write_corpus(tmp_path / "clean", "smic", specs, workers=1, progress=False)
    assert tree_hashes(killed) == tree_hashes(clean)


def test_refuses_to_write_into_a_folder_that_is_not_a_synthetic_corpus(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not a synthetic corpus"):
        write_corpus(tmp_path, "casme2", specs_for("casme2"), workers=1, progress=False)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_truth_files_match_the_adapters_clip_table(tmp_path, layout):
    specs = specs_for(layout, subjects=2, clips=1)
    root = write_corpus(tmp_path / layout, layout, specs, workers=1, progress=False)
    truth = pd.read_csv(root / TRUTH_DIR / "truth.csv", dtype={"subject": str, "synth_subject": str})
    clips = load_dataset(layout, root).clips.set_index("clip_key")
    assert sorted(truth["clip_key"]) == sorted(clips.index)
    for row, spec in zip(truth.itertuples(), specs):
        clip = clips.loc[row.clip_key]
        assert (clip["subject"], clip["clip"]) == (row.subject, row.clip)
        assert (clip.onset, clip.offset) == (row.onset, row.offset)
        assert clip.frame_numbers[0] == row.first_frame > 1
        assert len(clip.frames) == row.n_frames == spec.n_frames
        if layout == "smic":  # no apex column: the adapter's apex is the midpoint, the truth keeps the real one
            assert clip.apex == (row.onset + row.offset) // 2
        else:
            assert clip.apex == row.apex
        with np.load(root / TRUTH_DIR / f"{row.clip_key}.npz") as arrays:
            assert arrays["motion_mask"].shape == (64, 80) and arrays["motion_mask"].dtype == bool
            curve = arrays["motion_curve"]
        assert curve.shape == (spec.n_frames,)
        assert int(np.argmax(curve)) + row.first_frame == row.apex
        assert set(row.regions.split(";")) == set(spec.regions)
