"""The synthetic micro-expression renderer: determinism, ground truth, motion, identity and detectability."""

import dataclasses
import hashlib
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.data

from mlib.synth import ClipSpec, corpus_specs, render_clip

CASCADE = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"


def small_corpus(**overrides) -> list[ClipSpec]:
    settings = dict(
        subjects=3,
        clips_per_subject=3,
        single_clip_subjects=1,
        short_clip_fraction=0.3,
        frame_size=(96, 128),
        fps=200,
        mode="identity",
        seed=0,
    )
    settings.update(overrides)
    return corpus_specs(**settings)


@pytest.fixture(scope="module")
def clips():
    return [render_clip(spec) for spec in small_corpus()]


def test_same_spec_gives_identical_clips_and_other_seeds_differ():
    spec = small_corpus()[1]
    first, second = render_clip(spec), render_clip(spec)
    assert np.array_equal(first.frames, second.frames)
    assert np.array_equal(first.motion_mask, second.motion_mask)
    assert np.array_equal(first.motion_curve, second.motion_curve)
    assert small_corpus() == small_corpus()
    assert np.array_equal(render_clip(spec, frames=5).frames, first.frames[:5])

    reseeded = small_corpus(seed=1)[1]
    assert reseeded != spec
    other = render_clip(dataclasses.replace(spec, seed=spec.seed + 1))
    assert not np.array_equal(other.frames, first.frames)


RENDER_IN_A_FRESH_PROCESS = """
import hashlib, sys, cv2
cv2.setNumThreads(int(sys.argv[1]))
from mlib.synth import corpus_specs, render_clip
spec = corpus_specs(subjects=2, clips_per_subject=2, single_clip_subjects=0, short_clip_fraction=0.5,
                    frame_size=(96, 128), fps=200, seed=0)[1]
print(hashlib.sha256(render_clip(spec).frames.tobytes()).hexdigest())
"""


def test_rendering_is_identical_across_processes_and_thread_counts():
    spec = corpus_specs(
        subjects=2,
        clips_per_subject=2,
        single_clip_subjects=0,
        short_clip_fraction=0.5,
        frame_size=(96, 128),
        fps=200,
        seed=0,
    )[1]
    here = hashlib.sha256(render_clip(spec).frames.tobytes()).hexdigest()
    for threads in (1, 2):
        result = subprocess.run(
            [sys.executable, "-c", RENDER_IN_A_FRESH_PROCESS, str(threads)], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == here


def test_clip_shapes_types_and_timing(clips):
    for clip in clips:
        spec = clip.spec
        height, width = spec.frame_size
        assert clip.frames.shape == (spec.n_frames, height, width, 3) and clip.frames.dtype == np.uint8
        assert clip.motion_mask.shape == (height, width) and clip.motion_mask.dtype == bool
        assert clip.motion_mask.any()
        assert clip.motion_curve.shape == (spec.n_frames,) and clip.motion_curve.dtype == np.float32
        assert 0 <= spec.onset <= spec.apex <= spec.offset < spec.n_frames
        assert int(np.argmax(clip.motion_curve)) == spec.apex
        outside = np.ones(spec.n_frames, bool)
        outside[spec.onset : spec.offset + 1] = False
        assert np.all(clip.motion_curve[outside] == 0)
        x, y, w, h = clip.face_box
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        assert 0.35 <= h / height <= 0.6
        assert clip.regions and clip.emotion and clip.action_units.startswith("AU")


def test_corpus_has_short_clips_and_single_clip_subjects_last():
    specs = corpus_specs(
        subjects=4, clips_per_subject=5, single_clip_subjects=2, short_clip_fraction=0.25, frame_size=(96, 128), fps=200
    )
    subjects = [s.subject for s in specs]
    assert subjects == sorted(subjects)
    counts = {s: subjects.count(s) for s in subjects}
    assert list(counts.values()) == [5, 5, 5, 5, 1, 1]
    assert list(counts) == ["01", "02", "03", "04", "05", "06"]
    lengths = np.array([s.n_frames for s in specs])
    assert (lengths < 64).sum() == round(0.25 * len(specs))
    assert lengths[lengths >= 64].min() >= 70 and lengths.max() <= 160
    durations = np.array([s.offset - s.onset for s in specs])
    assert durations.min() >= 6 and np.median(durations) <= 60
    assert [s.index for s in specs[:5]] == [1, 2, 3, 4, 5]


def test_movement_is_concentrated_in_the_motion_mask():
    for spec in small_corpus(frame_size=(120, 160), seed=2):
        clip = render_clip(dataclasses.replace(spec, blinks=()))  # blinks are a nuisance, not the signal
        gray = clip.frames.astype(np.float32).mean(axis=-1)
        reference = gray[spec.onset]
        moving = np.abs(gray[spec.onset : spec.offset + 1] - reference)
        # as long a stretch before the onset as the movement lasts (the head sways more over a longer one)
        neutral = np.abs(gray[max(0, 2 * spec.onset - spec.offset) : spec.onset + 1] - reference)
        mask = clip.motion_mask
        inside, outside = moving[:, mask].mean(), moving[:, ~mask].mean()
        assert inside > 1.5 * outside, (spec.subject, spec.index, inside, outside)
        assert inside > 1.5 * neutral[:, mask].mean(), (spec.subject, spec.index)


def test_blinks_change_the_eyes_outside_the_movement():
    spec = next(s for seed in range(4, 10) for s in small_corpus(frame_size=(120, 160), seed=seed) if s.blinks)
    clip = render_clip(spec)
    closed = spec.blinks[0] + spec.blink_frames // 3
    without = render_clip(dataclasses.replace(spec, blinks=()))
    change = np.abs(clip.frames[closed].astype(np.int16) - without.frames[closed]).mean(axis=-1)
    assert change.max() > 40


def _face_crop(spec: ClipSpec) -> np.ndarray:
    """Frame 0 cropped to the face box, resized and normalised for brightness."""
    clip = render_clip(spec, frames=1)
    x, y, w, h = clip.face_box
    crop = cv2.resize(clip.frames[0][y : y + h, x : x + w].astype(np.float32), (64, 80), interpolation=cv2.INTER_AREA)
    return crop / crop.mean()


@pytest.mark.parametrize("mode, shared", [("motion-only", True), ("identity", False)])
def test_motion_only_mode_shares_one_face(mode, shared):
    specs = corpus_specs(
        subjects=4,
        clips_per_subject=1,
        single_clip_subjects=0,
        short_clip_fraction=1.0,
        frame_size=(240, 320),
        fps=100,
        mode=mode,
        seed=3,
    )
    crops = [_face_crop(spec) for spec in specs]
    differences = [float(np.abs(crops[0] - other).mean()) for other in crops[1:]]
    if shared:
        assert max(differences) < 0.08, differences
        assert len({s.face for s in specs}) == 1
        assert len({(s.regions, s.amplitude) for s in specs}) > 1  # the dynamics still differ
    else:
        assert min(differences) > 0.1, differences
        assert len({s.face for s in specs}) == len(specs)


@pytest.mark.parametrize("group", [2, 3])
def test_twins_share_faces_within_a_group_and_groups_differ(group):
    specs = corpus_specs(
        subjects=6,
        clips_per_subject=2,
        single_clip_subjects=1,
        short_clip_fraction=0.0,
        frame_size=(96, 128),
        fps=200,
        mode="twins",
        twin_group=group,
        seed=2,
    )
    faces = {}
    for spec in specs:
        faces.setdefault((int(spec.subject) - 1) // group, set()).add(spec.face)
    assert all(len(shared) == 1 for shared in faces.values())  # one face per group, exactly
    assert len({next(iter(shared)) for shared in faces.values()}) == len(faces) == -(-7 // group)  # groups differ
    subjects_of_first_group = [s for s in specs if (int(s.subject) - 1) // group == 0]
    assert (
        len({(s.subject, s.regions, s.amplitude) for s in subjects_of_first_group}) > 1
    )  # the twins' movements differ
    # the twins' faces are the identity corpus's faces of the group's first subject
    identity = corpus_specs(
        subjects=6,
        clips_per_subject=2,
        single_clip_subjects=1,
        short_clip_fraction=0.0,
        frame_size=(96, 128),
        fps=200,
        mode="identity",
        seed=2,
    )
    assert {s.face for s in identity if s.subject == "01"} == faces[0]


def test_motion_identity_changes_only_the_movement():
    """Two corpora that differ only in the knob: same faces, timings, positions, rooms and noise seeds."""
    settings = dict(
        subjects=4,
        clips_per_subject=4,
        single_clip_subjects=1,
        short_clip_fraction=0.25,
        frame_size=(96, 128),
        fps=200,
        mode="twins",
        seed=5,
    )
    weak, strong = (corpus_specs(**settings, motion_identity=k) for k in (0.1, 0.9))
    kept = (
        "subject",
        "index",
        "n_frames",
        "onset",
        "apex",
        "offset",
        "seed",
        "face",
        "face_center",
        "face_height",
        "backdrop",
        "room_seed",
        "frame_size",
        "fps",
    )
    for a, b in zip(weak, strong, strict=True):
        assert {k: getattr(a, k) for k in kept} == {k: getattr(b, k) for k in kept}
    moved = ("regions", "amplitude", "asymmetry", "turn", "jitter", "blinks")
    assert sum(
        {k: getattr(a, k) for k in moved} != {k: getattr(b, k) for k in moved} for a, b in zip(weak, strong)
    ) == len(weak)
    # the first frame differs only by the head's sway (the same draws, scaled)
    first = [render_clip(c[0], frames=1).frames[0].astype(int) for c in (weak, strong)]
    assert np.abs(first[0] - first[1]).mean() < 3


def test_at_full_motion_identity_a_subjects_clips_move_alike():
    """At 1 each clip varies only a little around its subject's direction turn and asymmetry; at 0 not at all."""

    def spread(k):
        specs = corpus_specs(
            subjects=6,
            clips_per_subject=6,
            single_clip_subjects=0,
            short_clip_fraction=0.0,
            frame_size=(96, 128),
            fps=200,
            mode="motion-only",
            seed=1,
            motion_identity=k,
        )
        turns = {}
        for spec in specs:
            turns.setdefault(spec.subject, []).append(spec.turn)
        within = np.mean([np.std(t) for t in turns.values()])
        return within / np.std([spec.turn for spec in specs])

    assert spread(1.0) < 0.2 < 0.8 < spread(0.0)


def test_motion_alone_carries_identity_in_motion_only_mode():
    """Where the clips of one subject move (their motion-energy maps) resembles itself more than other subjects."""
    specs = corpus_specs(
        subjects=5,
        clips_per_subject=4,
        single_clip_subjects=0,
        short_clip_fraction=0.0,
        frame_size=(96, 128),
        fps=100,
        mode="motion-only",
        seed=0,
    )
    maps, subjects = [], []
    for spec in specs:
        clip = render_clip(spec)
        gray = clip.frames.astype(np.float32).mean(axis=-1)
        energy = np.abs(gray[spec.onset : spec.offset + 1] - gray[spec.onset]).mean(axis=0)
        x, y, w, h = clip.face_box
        small = cv2.resize(energy[y : y + h, x : x + w], (12, 16), interpolation=cv2.INTER_AREA).ravel()
        maps.append((small - small.mean()) / small.std())
        subjects.append(spec.subject)
    maps, subjects = np.array(maps), np.array(subjects)
    distances = ((maps[:, None] - maps[None]) ** 2).sum(axis=-1)
    same = subjects[:, None] == subjects[None]
    off_diagonal = ~np.eye(len(specs), dtype=bool)
    assert distances[same & off_diagonal].mean() < 0.9 * distances[~same].mean()
    np.fill_diagonal(distances, np.inf)
    nearest_is_same = subjects[distances.argmin(axis=1)] == subjects
    assert nearest_is_same.mean() > 1 / 5 + 0.1  # clearly above chance (5 subjects)


def test_haar_cascade_finds_the_astronaut():
    cascade = cv2.CascadeClassifier(CASCADE)
    gray = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    assert len(cascade.detectMultiScale(gray, 1.1, 5)) >= 1


@pytest.mark.parametrize("frame_size", [(240, 320), (480, 640)])
def test_haar_cascade_finds_the_synthetic_faces(frame_size):
    cascade = cv2.CascadeClassifier(CASCADE)
    specs = corpus_specs(
        subjects=10,
        clips_per_subject=3,
        single_clip_subjects=0,
        short_clip_fraction=0.2,
        frame_size=frame_size,
        fps=200,
        seed=7,
    )
    found = 0
    for spec in specs:
        gray = cv2.cvtColor(render_clip(spec, frames=1).frames[0], cv2.COLOR_RGB2GRAY)
        found += len(cascade.detectMultiScale(gray, 1.1, 5)) > 0
    assert found / len(specs) >= 0.95, f"{found}/{len(specs)} faces found"


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(mode="faces"), "synth mode must be one of"),
        (dict(short_clip_fraction=1.5), "short_clip_fraction"),
        (dict(frame_size=(20, 20)), "too small"),
        (dict(subjects=0), "subjects >= 1"),
        (dict(motion_identity=1.5), "motion_identity must be within 0..1"),
        (dict(mode="twins", twin_group=1), "twin_group must be"),
    ],
)
def test_bad_corpus_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        small_corpus(**settings)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(apex=0, onset=5), "onset <= apex <= offset"),
        (dict(regions=("left_ear",)), "regions must be"),
        (dict(amplitude=0.0), "amplitude must be positive"),
    ],
)
def test_inconsistent_clip_specs_are_refused(change, message):
    spec = small_corpus()[0]
    with pytest.raises(ValueError, match=f"clip spec 01/1: .*{message}"):
        dataclasses.replace(spec, **change)
    with pytest.raises(ValueError, match="frames must be within"):
        render_clip(spec, frames=spec.n_frames + 1)


def test_session_signature_tints_each_subjects_room_and_light_and_changes_nothing_else():
    """Off (the default): one room for all. On: each subject's clips share a wall tint and a light that
    tell the subjects apart from the frame's corner alone; faces, movements and timings stay the same."""
    common = dict(
        subjects=3,
        clips_per_subject=2,
        single_clip_subjects=0,
        short_clip_fraction=0.0,
        frame_size=(64, 80),
        fps=200,
        mode="motion-only",
        seed=5,
    )
    plain, session = corpus_specs(**common), corpus_specs(**common, session_signature=True)
    assert len({s.backdrop for s in plain}) == 1 and {s.light for s in plain} == {1.0}
    for a, b in zip(plain, session):
        assert (a.onset, a.apex, a.offset, a.regions, a.face, a.amplitude) == (
            b.onset,
            b.apex,
            b.offset,
            b.regions,
            b.face,
            b.amplitude,
        )
    corner = {(s.subject, s.index): render_clip(s, frames=1).frames[0, :6, :6].reshape(-1, 3).mean(0) for s in session}
    subjects = sorted({s.subject for s in session})
    for subject in subjects:
        own = np.abs(corner[(subject, 1)] - corner[(subject, 2)]).max()
        others = min(np.abs(corner[(subject, 1)] - corner[(o, 2)]).max() for o in subjects if o != subject)
        assert own < others, (subject, own, others)
