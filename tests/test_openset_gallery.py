"""mlib enroll / mlib identify on a frame folder and on an mp4 the test writes, and each bad input."""

import json
import shutil

import cv2
import numpy as np
import pytest
from tiny_runs import train_open_set_run

from mlib.commands import cli
from mlib.openset.gallery import read_gallery, write_gallery
from mlib.synth.faces import random_traits, render_head


def face_frames(seed: int, n: int, shape=(120, 160)) -> list[np.ndarray]:
    """``n`` RGB frames of one synthetic face (Haar finds it) on a grey background, with noise per frame."""
    rng = np.random.default_rng(seed)
    head, _ = render_head(random_traits(rng), 90.0)
    alpha = head[..., 3:] / 255.0 if head[..., 3].max() > 1 else head[..., 3:]
    canvas = np.full((*shape, 3), 90.0)
    h, w = head.shape[:2]
    y, x = (shape[0] - h) // 2, (shape[1] - w) // 2
    canvas[y : y + h, x : x + w] = canvas[y : y + h, x : x + w] * (1 - alpha) + head[..., :3] * alpha
    return [np.clip(canvas + rng.normal(0, 3, canvas.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def write_folder(path, frames):
    path.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(path / f"img{i + 1}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def write_mp4(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened(), "OpenCV cannot write mp4 here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("gallery")
    trained = train_open_set_run(base)
    clips = {
        "folder": write_folder(base / "anna", face_frames(1, 20)),
        "mp4": write_mp4(base / "ben.mp4", face_frames(2, 20)),
    }
    gallery = base / "gallery.npz"
    assert (
        cli.main(
            [
                "enroll",
                "--run",
                str(trained["run"]),
                "--out",
                str(gallery),
                "--fmr",
                "0.1",
                f"anna={clips['folder']}",
                f"ben={clips['mp4']}",
            ]
        )
        == 0
    )
    return {**trained, **clips, "gallery": gallery, "base": base}


def identify(capsys, *args):
    code = cli.main(["identify", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def enroll(capsys, *args):
    code = cli.main(["enroll", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_gallery_holds_both_clips_the_run_and_a_threshold(setup):
    gallery = read_gallery(setup["gallery"])
    assert gallery["subjects"] == ["anna", "ben"] and gallery["embeddings"].shape[0] == 2
    meta = gallery["meta"]
    assert meta["run"] == str(setup["run"].resolve()) and meta["fmr"] == 0.1
    assert meta["preprocessing"]["window"] == 16 and meta["preprocessing"]["face_size"] == 32
    assert np.isfinite(meta["threshold"]) or meta["threshold"] == -np.inf


@pytest.mark.parametrize("which, subject", [("folder", "anna"), ("mp4", "ben")])
def test_identify_ranks_the_enrolled_clip_first(setup, capsys, which, subject):
    code, out, err = identify(capsys, "--gallery", setup["gallery"], setup[which])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "candidates by cosine score" in lines[0]
    first = lines[1].split()
    assert first[:2] == ["1", subject] and float(first[2]) == pytest.approx(1.0, abs=1e-6)
    assert lines[-1].startswith("answer: ")


def test_a_short_clip_is_padded_and_said(setup, capsys):
    short = write_folder(setup["base"] / "short", face_frames(1, 10))
    code, out, err = identify(capsys, "--gallery", setup["gallery"], short)
    assert code == 0
    assert err.strip() == (
        f"mlib identify: {short}: 10 frames, shorter than the 16-frame window: padded by "
        f"repeating its first and last frames, as in preparation"
    )


def test_a_video_opencv_cannot_open(setup, capsys):
    bad = setup["base"] / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    code, out, err = identify(capsys, "--gallery", setup["gallery"], bad)
    assert (code, out) == (3, "")
    assert err == f"mlib identify: {bad}: OpenCV cannot open or decode this video\n"


def test_a_clip_without_a_face(setup, capsys):
    blank = write_folder(setup["base"] / "blank", [np.full((120, 160, 3), 128, np.uint8)] * 20)
    code, _, err = identify(capsys, "--gallery", setup["gallery"], blank)
    assert code == 4
    assert err == f"mlib identify: {blank}: no face found on the window's first or middle frame\n"


def test_a_gallery_of_another_run_is_refused_naming_both(setup, capsys):
    other = setup["base"] / "other_run"
    shutil.copytree(setup["run"], other)
    code, _, err = identify(capsys, "--gallery", setup["gallery"], "--run", other, setup["folder"])
    assert code == 5 and err.count("\n") == 1
    assert f"made by run {setup['run'].resolve()}" in err and f"not by run {other.resolve()}" in err
    code, _, err = (
        cli.main(["enroll", "--run", str(other), "--out", str(setup["gallery"]), f"x={setup['folder']}"]),
        *capsys.readouterr(),
    )
    assert code == 5 and "made by run" in err


def test_a_gallery_of_another_preprocessing_is_refused_naming_both(setup, capsys):
    gallery = read_gallery(setup["gallery"])
    meta = {**gallery["meta"], "preprocessing": {**gallery["meta"]["preprocessing"], "face_size": 64}}
    moved = write_gallery(
        setup["base"] / "moved.npz", meta, gallery["subjects"], gallery["clips"], gallery["embeddings"]
    )
    code, _, err = identify(capsys, "--gallery", moved, setup["folder"])
    assert code == 5
    assert (
        err
        == f"mlib identify: {moved}: made with preprocessing face_size=64; run {setup['run'].resolve()} now has face_size=32\n"
    )


def test_an_empty_gallery(setup, capsys):
    meta = read_gallery(setup["gallery"])["meta"]
    empty = write_gallery(setup["base"] / "empty.npz", meta, [], [], np.zeros((0, 8)))
    code, _, err = identify(capsys, "--gallery", empty, setup["folder"])
    assert code == 6
    assert err == f"mlib identify: {empty}: empty gallery: no one is enrolled (use mlib enroll)\n"


def test_not_a_gallery(setup, capsys):
    other = setup["base"] / "x.npz"
    np.savez(other, a=np.zeros(2))
    code, _, err = identify(capsys, "--gallery", other, setup["folder"])
    assert code == 1 and err.startswith(f"mlib identify: {other}: not a gallery written by mlib enroll")
    assert json.loads(json.dumps(read_gallery(setup["gallery"])["meta"]))  # the meta is plain JSON


def test_a_run_with_another_input_picks_its_frames_from_the_user_clip(setup):
    """A static-apex run embeds the user's clip as its middle (apex) frame repeated."""
    import pandas as pd

    from mlib.core.config import resolve
    from mlib.openset.gallery import face_window, run_preprocessing
    from mlib.openset.scores import model_embeddings
    from mlib.training.plan import RunPlan
    from mlib.training.train import load_run

    model, plan, _ = load_run(setup["run"])
    clip, _, row = face_window(setup["folder"], run_preprocessing(plan.config))
    assert row["apex"] == 10 and row["window_start"] == 2  # 20 frames: window 2..17
    static = RunPlan.of(resolve(plan.config, {"data": {"input": "static-apex"}}))
    apex = clip[10 - 2]
    np.testing.assert_allclose(
        model_embeddings(model, clip[None], static, pd.DataFrame([row])),
        model_embeddings(model, np.repeat(apex[None], len(clip), 0)[None], plan),
        atol=1e-6,
    )


def test_help_of_mlib_enroll_and_identify_does_not_import_torch():
    import subprocess
    import sys

    script = (
        "import sys\nfrom mlib.commands import cli\ncli.main(['--help'])\n"
        "for name in ('enroll', 'identify'):\n    try:\n        cli.main([name, '--help'])\n"
        "    except SystemExit:\n        pass\nprint('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "SUBJECT=PATH" in done.stdout and "--gallery" in done.stdout
    assert done.stdout.splitlines()[-1] == "False"


def test_the_frozen_embedding_answers_as_the_run_does_through_torch(setup):
    """identify by the gallery's frozen embedding (numpy and OpenCV) ranks the same candidates with the same
    scores as the same gallery without it, which embeds the clip with the run's network through torch."""
    from mlib.openset.gallery import identify

    gallery = read_gallery(setup["gallery"])
    assert gallery["frozen"] is not None and gallery["template_subjects"] == ["anna", "ben"]
    through_torch = write_gallery(
        setup["base"] / "through_torch.npz",
        gallery["meta"],
        gallery["subjects"],
        gallery["clips"],
        gallery["embeddings"],
    )
    assert read_gallery(through_torch)["frozen"] is None
    for clip in (setup["folder"], setup["mp4"], write_folder(setup["base"] / "carl", face_frames(3, 24))):
        fast, slow = identify(setup["gallery"], clip), identify(through_torch, clip)
        assert [name for name, _ in fast["ranked"]] == [name for name, _ in slow["ranked"]]
        np.testing.assert_allclose([s for _, s in fast["ranked"]], [s for _, s in slow["ranked"]], atol=1e-6)
        assert fast["answer"] == slow["answer"]


def test_the_frozen_resize_rounds_as_torch_does(setup):
    """The evaluation path's two antialiased resizes, frozen as matrices, give torch's model input to the bit."""
    import torch

    from mlib.openset.embedder import _resize, resize_matrix
    from mlib.training.clips import fit_clip, make_inputs

    window = np.random.default_rng(0).integers(0, 256, size=(16, 48, 48, 3), dtype=np.uint8)
    expected = make_inputs(fit_clip(window, 16, 37)[None], 32)
    frames = np.clip(np.round(_resize(window.astype(np.float32), resize_matrix(48, 37))), 0, 255)
    assert np.array_equal(frames, fit_clip(window, 16, 37).numpy())
    got = _resize(frames / np.float32(255), resize_matrix(37, 32))
    assert torch.equal((torch.from_numpy(got[None]).permute(0, 4, 1, 2, 3) - 0.45) / 0.225, expected)


def test_identify_by_the_frozen_embedding_does_not_import_torch(setup):
    import subprocess
    import sys

    script = (
        f"import sys\nfrom mlib.commands import cli\ncode = cli.main(['identify', '--gallery', {str(setup['gallery'])!r}, "
        f"{str(setup['folder'])!r}])\nprint(code, 'torch' in sys.modules, 'sklearn' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 False False"


def test_enroll_refuses_a_bad_clip_in_one_line_and_keeps_the_gallery(setup, capsys):
    before = setup["gallery"].read_bytes()
    bad = setup["base"] / "broken_enrol.mp4"
    bad.write_bytes(b"\x00garbage" * 20)
    code, out, err = enroll(capsys, "--run", setup["run"], "--out", setup["gallery"], f"dora={bad}")
    assert (code, out, err) == (3, "", f"mlib enroll: {bad}: OpenCV cannot open or decode this video\n")
    blank = write_folder(setup["base"] / "blank_enrol", [np.full((120, 160, 3), 128, np.uint8)] * 20)
    code, out, err = enroll(capsys, "--run", setup["run"], "--out", setup["gallery"], f"dora={blank}")
    assert (code, out, err) == (4, "", f"mlib enroll: {blank}: no face found on the window's first or middle frame\n")
    assert setup["gallery"].read_bytes() == before


def test_a_gallery_whose_run_is_gone(setup, capsys):
    gallery = read_gallery(setup["gallery"])
    gone = setup["base"] / "no_such_run"
    moved = write_gallery(
        setup["base"] / "gone.npz",
        {**gallery["meta"], "run": str(gone)},
        gallery["subjects"],
        gallery["clips"],
        gallery["embeddings"],
        gallery["frozen"],
    )
    code, out, err = identify(capsys, "--gallery", moved, setup["folder"])
    assert (code, out, err) == (1, "", f"mlib identify: {moved}: its run {gone} has no checkpoints/best.pt here\n")


def test_freeze_declines_other_frame_choices_and_a_disagreeing_export(setup):
    """A run that does not see the plain window, or an export that does not reproduce the torch path's
    embeddings, gets no frozen embedding: such a gallery is searched through torch."""
    import pandas as pd

    from mlib.core.config import resolve
    from mlib.openset.embedder import freeze
    from mlib.openset.gallery import face_window, run_preprocessing
    from mlib.openset.scores import model_embeddings
    from mlib.training.plan import RunPlan
    from mlib.training.train import load_run

    model, plan, _ = load_run(setup["run"])
    clip, _, row = face_window(setup["folder"], run_preprocessing(plan.config))
    static = RunPlan.of(resolve(plan.config, {"data": {"input": "static-apex"}}))
    assert freeze(model, static, run_preprocessing(static.config), clip[None], np.zeros((1, 8))) is None
    expected = model_embeddings(model, clip[None], plan, pd.DataFrame([row]))
    assert freeze(model, plan, run_preprocessing(plan.config), clip[None], expected) is not None
    assert freeze(model, plan, run_preprocessing(plan.config), clip[None], -expected) is None
