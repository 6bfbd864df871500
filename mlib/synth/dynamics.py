"""Micro-expression dynamics: face regions, a subject's habits, and their motion over time.

A region is a smooth local displacement (a Gaussian bump of motion in face
coordinates, see ``faces``); a micro-expression moves one or more regions with
one shared time course (onset -> apex -> offset). A subject's habits decide
which emotions and regions it tends to show, how strongly, in which direction,
how asymmetrically, how much the head sways and how often it blinks; they are
what makes a subject recognisable from motion alone.

How strongly a clip follows its subject's habits is the corpus's
``motion_identity`` (``synth.motion_identity``, 0..1): each clip also draws the
habits of a random person, and follows the subject's with weight
``motion_identity`` and the random person's with the rest (``clip_habits``).
At 0 a clip's movement says nothing about who made it; at 1 it follows the
subject's habits alone (each clip still varies around them). Timing (onset,
apex, offset) is drawn for the clip alone, never from the habits, so corpora
that differ only in ``motion_identity`` have the same faces, timings, head
positions and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .faces import FaceGeometry, FaceTraits


@dataclass(frozen=True)
class Region:
    """A moving face region: where (face coordinates), how wide, which way, and its FACS code."""

    name: str
    au: str
    side: int  # -1 image-left (subject's right), +1 image-right (subject's left), 0 both
    motion: tuple[float, float]  # displacement direction (du, dv) for side +1; u is mirrored on side -1
    strength: float = 1.0  # displacement relative to the clip's amplitude (lips and chin move further)


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("left_brow", "AU1+AU2", +1, (0.0, -1.0)),
        Region("right_brow", "AU1+AU2", -1, (0.0, -1.0)),
        Region("brow_lowerer", "AU4", 0, (-0.45, 0.9)),
        Region("eyelids", "AU7", 0, (0.0, -1.0)),
        Region("nose_wrinkle", "AU9", 0, (-0.3, -1.0)),
        Region("mouth_corners", "AU12", 0, (0.8, -0.6), 1.2),
        Region("lip_corner_depressor", "AU15", 0, (0.15, 1.0), 1.2),
        Region("lip_press", "AU24", 0, (0.0, -1.0), 1.5),
        Region("chin_raiser", "AU17", 0, (0.0, -1.0), 1.4),
    )
}

EMOTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # emotion: (regions it always moves, regions it may add)
    "happiness": (("mouth_corners",), ("eyelids",)),
    "surprise": (("left_brow", "right_brow"), ()),
    "disgust": (("nose_wrinkle",), ("brow_lowerer",)),
    "sadness": (("lip_corner_depressor",), ("chin_raiser",)),
    "repression": (("lip_press",), ("chin_raiser",)),
    "others": ((), ("brow_lowerer", "eyelids", "left_brow", "right_brow")),
}


def region_anchor(name: str, face: FaceTraits) -> tuple[tuple[float, float], tuple[float, float]]:
    """Centre (u, v) for the image-right copy and Gaussian width (su, sv), face units.

    Regions centred off the midline are mirrored to the other side unless they
    belong to one side only.
    """
    brow_v = face.eye_v - face.brow_v - 0.02
    if name in ("left_brow", "right_brow"):
        return (face.eye_u + 0.02, brow_v), (0.2, 0.1)
    if name == "brow_lowerer":
        return (0.2, brow_v + 0.02), (0.13, 0.09)
    if name == "eyelids":
        return (face.eye_u, face.eye_v + 0.04), (0.16, 0.06)
    if name == "nose_wrinkle":
        return (face.nose_w * 0.8, face.nose_v - 0.1), (0.1, 0.1)
    if name in ("mouth_corners", "lip_corner_depressor"):
        return (face.mouth_w, face.mouth_v), (0.12, 0.09)
    if name == "lip_press":
        return (0.0, face.mouth_v + 0.06), (0.28, 0.06)
    if name == "chin_raiser":
        return (0.0, face.mouth_v + 0.22), (0.25, 0.08)
    raise ValueError(f"unknown face region {name!r}; known: {sorted(REGIONS)}")


def action_units(regions: tuple[str, ...]) -> str:
    """FACS-like code of the moving regions, e.g. ``AU1+AU2`` or ``AU4+AU9``.

    One brow raised alone carries the FACS side letter before the number:
    ``AUL2`` is the subject's left outer brow raiser, ``AUR2`` the right one.
    """
    codes: list[str] = []
    for name in regions:
        if name in ("left_brow", "right_brow") and not {"left_brow", "right_brow"} <= set(regions):
            codes.append("L2" if name == "left_brow" else "R2")
        else:
            codes.extend(REGIONS[name].au.split("+"))
    unique = sorted(set(codes), key=lambda c: (int(c.lstrip("AULR")), c))
    return "+".join(c if c.startswith("AU") else f"AU{c}" for c in unique)


@dataclass(frozen=True)
class Habits:
    """A subject's micro-expression habits."""

    emotion_weights: tuple[float, ...]  # over EMOTIONS, in its order
    extra_region_rate: float  # chance of adding an optional region
    signature: str  # a region this subject tends to move along with any expression (a tic)
    signature_rate: float  # how often the signature region joins in
    favourite: str  # the single movement an "others" expression makes (one of its optional regions)
    amplitude: float  # typical apex displacement, frame pixels at 240-pixel frame height
    turn: float  # radians: every region's motion direction is turned by this (mirrored
    #                                      on the other side), e.g. a smile pulled more sideways or more upwards
    asymmetry: float  # -0.6..0.6: >0 the subject's left side moves more
    blink_rate: float  # blinks per second
    blink_duration: float  # seconds
    jitter: float  # head jitter, frame pixels at 240-pixel frame height


MAX_TURN = np.deg2rad(90)
"""Largest turn of a subject's motion directions, radians."""


def random_habits(rng: np.random.Generator) -> Habits:
    """One person's habits; every draw makes the same number of random draws (streams stay aligned).

    Drawn so that a subject's movements repeat where pixels can show it (issue
    21): mostly one favourite emotion (a Dirichlet sparse enough that a second
    is rare), optional regions nearly always or nearly never, the signature
    region nearly always, one favourite single movement for "others" (a random
    one per clip made "others" subjects unrecognisable), a turn of up to 90
    degrees (directions 45 degrees apart fall in different FHOFO bins) and apex
    displacements of 6-12 px at 240-px frame height
    (about 3-6 px in a 64-px face crop, spread over the 64 frames of a window
    at 200 fps: well above the sensor noise's flow between neighbouring frames).
    """
    weights = rng.dirichlet(np.full(len(EMOTIONS), 0.04))
    return Habits(
        emotion_weights=tuple(float(w) for w in weights),
        extra_region_rate=float(0.97 if rng.uniform() < 0.5 else 0.03),
        signature=str(rng.choice(sorted(REGIONS))),
        signature_rate=float(rng.uniform(0.95, 1.0)),
        favourite=str(EMOTIONS["others"][1][int(rng.integers(len(EMOTIONS["others"][1])))]),
        amplitude=float(rng.uniform(6.0, 12.0)),
        turn=float(rng.uniform(-MAX_TURN, MAX_TURN)),
        asymmetry=float(rng.uniform(-0.6, 0.6)),
        blink_rate=float(rng.uniform(0.0, 1.5)),
        blink_duration=float(rng.uniform(0.08, 0.2)),
        jitter=float(rng.uniform(0.3, 1.4)),
    )


def clip_habits(subject: Habits, stranger: Habits, strength: float, pick: float) -> Habits:
    """The habits one clip follows: the subject's with weight ``strength`` (0..1), a random person's with the rest.

    Numbers are mixed linearly; the signature region and the favourite movement
    (categories) are the subject's when ``pick`` (a uniform draw in 0..1) is
    below ``strength``.
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"motion_identity must be within 0..1, got {strength}")

    def mix(a, b):
        return float(strength * a + (1 - strength) * b)

    return Habits(
        emotion_weights=tuple(mix(a, b) for a, b in zip(subject.emotion_weights, stranger.emotion_weights)),
        extra_region_rate=mix(subject.extra_region_rate, stranger.extra_region_rate),
        signature=subject.signature if pick < strength else stranger.signature,
        signature_rate=mix(subject.signature_rate, stranger.signature_rate),
        favourite=subject.favourite if pick < strength else stranger.favourite,
        amplitude=mix(subject.amplitude, stranger.amplitude),
        turn=mix(subject.turn, stranger.turn),
        asymmetry=mix(subject.asymmetry, stranger.asymmetry),
        blink_rate=mix(subject.blink_rate, stranger.blink_rate),
        blink_duration=mix(subject.blink_duration, stranger.blink_duration),
        jitter=mix(subject.jitter, stranger.jitter),
    )


def choose_expression(habits: Habits, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
    """An emotion from the subject's habits and the regions it moves in this clip (its signature region often joins)."""
    names = list(EMOTIONS)
    emotion = names[int(rng.choice(len(names), p=np.asarray(habits.emotion_weights)))]
    always, optional = EMOTIONS[emotion]
    regions = list(always)
    if not regions:
        regions.append(habits.favourite)  # "others": the subject's own favourite single movement
    else:
        regions += [r for r in optional if rng.random() < habits.extra_region_rate]
    if habits.signature not in regions and rng.random() < habits.signature_rate:
        regions.append(habits.signature)
    return emotion, tuple(regions)


def motion_curve(n_frames: int, onset: int, apex: int, offset: int, amplitude: float) -> np.ndarray:
    """Displacement in pixels over time: 0 outside onset..offset, a smooth rise to ``amplitude`` at apex."""
    t = np.arange(n_frames, dtype=np.float64)
    curve = np.zeros(n_frames)
    if apex > onset:
        x = np.clip((t - onset) / (apex - onset), 0, 1)
        rising = (t >= onset) & (t <= apex)
        curve[rising] = (x * x * (3 - 2 * x))[rising]
    if offset > apex:
        x = np.clip((t - apex) / (offset - apex), 0, 1)
        falling = (t > apex) & (t <= offset)
        curve[falling] = (1 - x * x * (3 - 2 * x))[falling]
    curve[apex] = 1.0
    return (amplitude * curve).astype(np.float32)


def blink_curve(n_frames: int, starts: tuple[int, ...], length: int) -> np.ndarray:
    """Eyelid closure 0..1 over time: a quick close and a slower reopening per blink."""
    closure = np.zeros(n_frames, np.float32)
    t = np.arange(n_frames)
    for start in starts:
        x = (t - start) / max(length, 2)
        shape = np.where(x < 0.35, np.sin(np.pi / 2 * x / 0.35), np.cos(np.pi / 2 * (x - 0.35) / 0.65))
        shape = np.where((x >= 0) & (x <= 1), shape, 0)
        closure = np.maximum(closure, shape.astype(np.float32))
    return closure


REGION_SPREAD = 3.5
"""Widens every region's bump of motion, so that a 64-px face crop still shows it over several pixels."""

WRINKLE_DEPTH = 0.08
"""At apex, skin folds darken a moving region by up to this fraction (appearance change beside the warp)."""
WRINKLE_PERIOD = 0.12
"""Spacing of the folds across a moving region, in face half-widths."""


@dataclass
class RegionField:
    """What the moving regions do to a patch, per unit of the motion curve."""

    dx: np.ndarray  # displacement in pixels at unit amplitude
    dy: np.ndarray
    shading: np.ndarray  # relative brightness change at apex (<= 0: folds darken the skin)
    support: np.ndarray  # largest region weight at each pixel (asymmetry included); thresholded -> motion mask


def displacement_field(
    regions: tuple[str, ...],
    face: FaceTraits,
    geo: FaceGeometry,
    shape: tuple[int, int],
    asymmetry: float,
    turn: float = 0.0,
) -> RegionField:
    """Sum the moving regions' Gaussian bumps of displacement and skin folds over a patch.

    Each region pushes skin along its motion direction; folds are stripes
    across that direction that deepen with the movement, so a region moves
    visibly even where the skin has little texture. ``turn`` (radians) turns
    every motion direction (mirrored on the image-left copy).
    """
    cos_turn, sin_turn = float(np.cos(turn)), float(np.sin(turn))
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    U = (xs - geo.cx) / geo.a
    V = (ys - geo.cy) / geo.b
    field = RegionField(*(np.zeros(shape, np.float32) for _ in range(4)))
    for name in regions:
        region = REGIONS[name]
        (u0, v0), (su, sv) = region_anchor(name, face)
        su, sv = REGION_SPREAD * su, REGION_SPREAD * sv
        if u0 == 0:
            sides = (1,)
        elif region.side:
            sides = (region.side,)
        else:
            sides = (-1, 1)
        du, dv = region.motion
        du, dv = cos_turn * du - sin_turn * dv, sin_turn * du + cos_turn * dv
        norm = float(np.hypot(du, dv))
        for side in sides:
            # side +1 is the subject's left (image right); asymmetry > 0 favours it
            gain = region.strength * (1 + asymmetry * side if u0 != 0 else 1.0)
            g = gain * np.exp(-0.5 * (((U - side * u0) / su) ** 2 + ((V - v0) / sv) ** 2)).astype(np.float32)
            field.dx += g * side * du / norm
            field.dy += g * dv / norm
            along = ((U - side * u0) * side * du + (V - v0) * (geo.b / geo.a) * dv) / norm
            folds = 0.5 + 0.5 * np.cos(2 * np.pi * along / WRINKLE_PERIOD)
            field.shading -= WRINKLE_DEPTH * g * folds.astype(np.float32)
            field.support = np.maximum(field.support, g / region.strength)
    np.clip(field.shading, -0.3, 0, out=field.shading)
    return field
