"""Render synthetic micro-expression clips in memory.

``corpus_specs`` draws a whole corpus as a list of ``ClipSpec`` (subjects,
their faces and habits, each clip's timing and moving regions);
``render_clip`` turns one spec into frames. Rendering is a pure function of
the spec, so clips can be rendered in any order, in any process, and the same
corpus seed always gives identical frames.

A clip is a still head (``faces.render_head``, drawn once) that is warped per
frame with ``cv2.remap``: a smooth local displacement for the moving regions
scaled by the motion curve, plus a small rigid head jitter; it is then
composited over a static background and torso, lit with a slowly drifting
gain and given sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import dynamics
from .faces import FaceGeometry, FaceTraits, random_traits, render_head

MODES = ("identity", "motion-only", "twins")
"""identity: a face per subject; motion-only: one face for all; twins: one face per group of ``twin_group`` subjects."""
CLIP_DURATION_SECONDS = (0.1, 0.3)
"""Onset-to-offset time of a clip, drawn for each clip (not a habit), seconds."""
PER_CLIP_SPREAD = 0.1
"""How much a clip varies around its habits: the log-sd of amplitude and sway, four times the sd of asymmetry and turn."""
CLIP_RISE = (0.3, 0.6)
"""Share of the movement spent rising to the apex, drawn for each clip."""
MASK_THRESHOLD = 0.35
"""A pixel belongs to the motion mask where a moving region's weight (0..1) reaches this."""
SWAY_SECONDS = 2.5
"""Typical period of the head's slow sway (jitter), seconds."""
LIGHT_SECONDS = 6.0
"""Typical period of the lighting drift, seconds."""
NOISE_FIELDS = 6
"""Independent sensor-noise fields per clip; each frame takes a randomly shifted crop of one."""


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip deterministically."""

    subject: str  # "01", "02", ... (zero-padded text)
    index: int  # 1-based clip number within the subject
    n_frames: int
    onset: int  # 0-based frame indices, onset <= apex <= offset < n_frames
    apex: int
    offset: int
    fps: int
    frame_size: tuple[int, int]  # (height, width)
    seed: int  # per-clip seed: jitter, lighting and noise
    mode: str  # "identity" | "motion-only" | "twins"
    face: FaceTraits  # the subject's face (shared by all subjects in motion-only mode,
    #                                    by the subjects of one group in twins mode)
    emotion: str
    regions: tuple[str, ...]  # moving face regions, names from dynamics.REGIONS
    action_units: str
    amplitude: float  # apex displacement of the moving regions, frame pixels
    asymmetry: float  # > 0: the subject's left side moves more
    face_center: tuple[float, float]  # (x, y) of the face oval's centre, frame pixels
    face_height: float  # height of the face oval, frame pixels
    jitter: float  # head jitter amplitude, frame pixels
    backdrop: tuple[tuple[float, float, float], tuple[float, float, float]]  # wall colours (RGB) at two corners
    room_seed: int  # the wall's blotches; one room for the whole corpus
    blinks: tuple[int, ...] = ()  # frames where a blink starts
    blink_frames: int = 0  # frames one blink lasts
    turn: float = 0.0  # radians the regions' motion directions are turned by (dynamics.Habits.turn)
    light: float = 1.0  # the session's illumination gain (corpus_specs' session_signature)

    def __post_init__(self) -> None:
        name = f"clip spec {self.subject}/{self.index}"
        if not 0 <= self.onset <= self.apex <= self.offset < self.n_frames:
            raise ValueError(
                f"{name}: need 0 <= onset <= apex <= offset < n_frames, got "
                f"{self.onset}, {self.apex}, {self.offset}, {self.n_frames}"
            )
        if self.mode not in MODES:
            raise ValueError(f"{name}: mode must be one of {MODES}, got {self.mode!r}")
        unknown = set(self.regions) - set(dynamics.REGIONS)
        if not self.regions or unknown:
            raise ValueError(
                f"{name}: regions must be a non-empty subset of {sorted(dynamics.REGIONS)}, got {self.regions}"
            )
        if self.amplitude <= 0:
            raise ValueError(f"{name}: amplitude must be positive, got {self.amplitude}")


@dataclass
class SynthClip:
    """One rendered clip and its ground truth."""

    spec: ClipSpec
    frames: np.ndarray  # uint8 (n_frames, H, W, 3) RGB
    motion_mask: np.ndarray  # bool (H, W): pixels of the moving regions, frame coordinates, at apex
    motion_curve: np.ndarray  # float32 (n_frames,): displacement in pixels, 0 outside onset..offset, peak at apex
    face_box: tuple[int, int, int, int]  # (x, y, w, h) of the face oval in frame 0
    regions: tuple[str, ...]
    emotion: str
    action_units: str


DYNAMICS_TRUTH = ("amplitude", "asymmetry", "turn", "jitter", "blink_starts", "blink_frames")
"""Columns of ``synth_truth/truth.csv`` that record a clip's movement parameters (``dynamics_truth``)."""


def dynamics_truth(spec: ClipSpec) -> dict:
    """The clip's movement parameters beside its regions, emotion and timing: what a positive control may read.

    ``blink_starts`` are 0-based frame positions joined by ``;`` (empty: no blink).
    """
    return {
        "amplitude": spec.amplitude,
        "asymmetry": spec.asymmetry,
        "turn": spec.turn,
        "jitter": spec.jitter,
        "blink_starts": ";".join(str(b) for b in spec.blinks),
        "blink_frames": spec.blink_frames,
    }


def _subject_number_width(total: int) -> int:
    return max(2, len(str(total)))


def corpus_specs(
    *,
    subjects: int,
    clips_per_subject: int,
    single_clip_subjects: int,
    short_clip_fraction: float,
    frame_size: tuple[int, int],
    fps: int,
    mode: str = "identity",
    seed: int = 0,
    motion_identity: float | None = None,
    twin_group: int = 2,
    session_signature: bool = False,
) -> list[ClipSpec]:
    """Draw a whole corpus: ``subjects`` regular subjects, then the single-clip ones.

    Each subject gets a face and habits. ``mode`` decides the faces: one per
    subject (``identity``), one for all (``motion-only``), or one per group of
    ``twin_group`` consecutive subjects (``twins``: appearance separates the
    groups, only movement the subjects within one). Each clip draws its timing
    and face position alone, and its emotion, regions, amplitude, direction,
    blinks and sway from habits that follow the subject's with weight
    ``motion_identity`` (0..1; None: ``synth.motion_identity`` of the defaults,
    see ``dynamics.clip_habits``). ``short_clip_fraction`` of the clips
    (rounded) are shorter than 64 frames. ``session_signature`` gives each
    subject its own wall tint and illumination (``session``), as one recording
    session per subject does in the real databases; off, all share one room.

    Separate random streams keep everything but the habits' effects identical
    across ``motion_identity`` values: the same faces, timings, positions and
    noise.
    """
    if mode not in MODES:
        raise ValueError(f"synth mode must be one of {MODES}, got {mode!r}")
    if motion_identity is None:
        from mlib.core.config import load_defaults

        motion_identity = float(load_defaults()["synth"]["motion_identity"])
    if not 0 <= motion_identity <= 1:
        raise ValueError(f"motion_identity must be within 0..1 (0 = no habit, 1 = strong), got {motion_identity}")
    if int(twin_group) != twin_group or twin_group < 2:
        raise ValueError(f"twin_group must be a whole number of at least 2 subjects sharing a face, got {twin_group}")
    if subjects < 1 or clips_per_subject < 1 or single_clip_subjects < 0:
        raise ValueError(
            f"need subjects >= 1, clips_per_subject >= 1, single_clip_subjects >= 0; got "
            f"{subjects}, {clips_per_subject}, {single_clip_subjects}"
        )
    if mode == "twins" and twin_group >= subjects + single_clip_subjects:  # one group: a motion-only corpus
        raise ValueError(
            f"synth.twin_group {twin_group} with {subjects + single_clip_subjects} subjects "
            "(subjects + single_clip_subjects) puts every subject on one face: that is the motion-only "
            "corpus, not twins; use a twin_group smaller than the subject count"
        )
    if not 0 <= short_clip_fraction <= 1:
        raise ValueError(f"short_clip_fraction must be within 0..1, got {short_clip_fraction}")
    height, width = (int(x) for x in frame_size)
    if height < 48 or width < 48:
        raise ValueError(f"frame_size {frame_size} is too small to draw a face (need at least 48x48)")
    if fps < 10:
        raise ValueError(f"fps must be at least 10, got {fps}")

    total_subjects = subjects + single_clip_subjects
    counts = [clips_per_subject] * subjects + [1] * single_clip_subjects
    total_clips = sum(counts)
    n_short = int(round(short_clip_fraction * total_clips))
    short = np.zeros(total_clips, bool)
    short[np.random.default_rng([seed, 0, 9]).choice(total_clips, n_short, replace=False)] = True

    shared_face = random_traits(np.random.default_rng([seed, 0, 1]))
    backdrop = _random_backdrop(np.random.default_rng([seed, 0, 4]))
    width_digits = _subject_number_width(total_subjects)
    specs: list[ClipSpec] = []
    for number, count in enumerate(counts, start=1):
        face_number = {"identity": number, "twins": twin_face(number, twin_group)}.get(mode)
        face = shared_face if face_number is None else random_traits(np.random.default_rng([seed, face_number, 1]))
        habits = dynamics.random_habits(np.random.default_rng([seed, number, 2]))
        subject_backdrop, light = (
            session(backdrop, np.random.default_rng([seed, number, 7])) if session_signature else (backdrop, 1.0)
        )
        for index in range(1, count + 1):
            specs.append(
                _clip_spec(
                    np.random.default_rng([seed, number, 3, index]),
                    np.random.default_rng([seed, number, 6, index]),
                    subject=str(number).zfill(width_digits),
                    index=index,
                    short=bool(short[len(specs)]),
                    face=face,
                    habits=habits,
                    motion_identity=float(motion_identity),
                    backdrop=subject_backdrop,
                    room_seed=int(seed),
                    frame_size=(height, width),
                    fps=int(fps),
                    mode=mode,
                    clip_seed=int(np.random.SeedSequence([seed, number, index]).generate_state(1)[0]),
                    light=light,
                )
            )
    return specs


def twin_face(number: int, twin_group: int) -> int:
    """The face a twins-mode subject (generator number, from 1) shares: subjects 1..twin_group the first, and so on."""
    return (int(number) - 1) // int(twin_group) + 1


SESSION_TINT = 30.0
"""Largest shift of a subject's wall colour (grey levels per channel) under ``session_signature``."""
SESSION_LIGHT = (0.8, 1.2)
"""Range of a subject's illumination gain under ``session_signature``."""


def session(backdrop, rng: np.random.Generator) -> tuple[tuple, float]:
    """One subject's recording session: the room's wall colours tinted, and an illumination gain.

    In the real databases every clip of a subject comes from one session, so
    lighting and background can identify a subject without face or movement;
    ``corpus_specs(session_signature=True)`` gives each subject such a signature.
    """
    tint = rng.uniform(-SESSION_TINT, SESSION_TINT, 3)
    tinted = tuple(tuple(float(c) for c in np.clip(np.asarray(colour) + tint, 0, 255)) for colour in backdrop)
    return tinted, float(rng.uniform(*SESSION_LIGHT))


def _random_backdrop(rng: np.random.Generator) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """One recording room for the whole corpus, as in a real database: a wall lit unevenly."""
    near = rng.uniform(120, 215, 3)
    far = np.clip(near + rng.uniform(-40, 40, 3), 60, 235)
    return tuple(float(c) for c in near), tuple(float(c) for c in far)


def _clip_spec(
    timing_rng: np.random.Generator,
    motion_rng: np.random.Generator,
    *,
    subject: str,
    index: int,
    short: bool,
    face: FaceTraits,
    habits: dynamics.Habits,
    motion_identity: float,
    backdrop,
    room_seed: int,
    frame_size: tuple[int, int],
    fps: int,
    mode: str,
    clip_seed: int,
    light: float = 1.0,
) -> ClipSpec:
    """One clip: timing and placement from ``timing_rng``, everything the habits shape from ``motion_rng``."""
    height, width = frame_size
    n_frames = int(timing_rng.integers(30, 61) if short else timing_rng.integers(70, 161))
    duration = timing_rng.uniform(*CLIP_DURATION_SECONDS) * timing_rng.lognormal(0, 0.2) * fps
    duration = int(np.clip(round(duration), 6, min(100, n_frames - 8)))
    onset = int(timing_rng.integers(3, n_frames - duration - 3))
    rise = timing_rng.uniform(*CLIP_RISE)
    apex = onset + max(1, int(round(rise * duration)))
    offset = onset + duration

    face_height = float(timing_rng.uniform(0.4, 0.55) * height)
    b = face_height / 2
    a = b / face.aspect
    x_room = max(0.0, width / 2 - 1.5 * a - 4)
    side = timing_rng.choice([-1, 1])
    cx = width / 2 + side * timing_rng.uniform(0.25, 1.0) * x_room
    cy = height * timing_rng.uniform(0.44, 0.54)
    cy = float(np.clip(cy, 1.3 * b + 2, height - 1.15 * b - 2))

    stranger = dynamics.random_habits(motion_rng)
    own = dynamics.clip_habits(habits, stranger, motion_identity, float(motion_rng.random()))
    pixel_scale = height / 240
    amplitude = float(own.amplitude * motion_rng.lognormal(0, PER_CLIP_SPREAD) * pixel_scale)
    asymmetry = float(np.clip(own.asymmetry + motion_rng.normal(0, PER_CLIP_SPREAD / 4), -0.7, 0.7))
    turn = float(own.turn + motion_rng.normal(0, PER_CLIP_SPREAD / 4))
    jitter = float(own.jitter * motion_rng.lognormal(0, PER_CLIP_SPREAD) * pixel_scale)
    blink_frames = max(3, int(round(own.blink_duration * fps * motion_rng.lognormal(0, 0.1))))
    n_blinks = int(motion_rng.poisson(own.blink_rate * n_frames / fps))
    blinks: list[int] = []
    for start in sorted(int(s) for s in motion_rng.integers(0, max(1, n_frames - blink_frames), n_blinks)):
        if not blinks or start - blinks[-1] >= 2 * blink_frames:  # one blink ends well before the next
            blinks.append(start)
    emotion, regions = dynamics.choose_expression(own, motion_rng)  # last: it draws a varying number of numbers
    return ClipSpec(
        subject=subject,
        index=index,
        n_frames=n_frames,
        onset=onset,
        apex=apex,
        offset=offset,
        fps=fps,
        frame_size=(height, width),
        seed=clip_seed,
        mode=mode,
        face=face,
        emotion=emotion,
        regions=regions,
        action_units=dynamics.action_units(regions),
        amplitude=amplitude,
        asymmetry=asymmetry,
        face_center=(float(cx), cy),
        face_height=face_height,
        jitter=jitter,
        backdrop=backdrop,
        room_seed=room_seed,
        blinks=tuple(blinks),
        blink_frames=blink_frames,
        turn=turn,
        light=light,
    )


def _background(spec: ClipSpec, geo_frame: FaceGeometry) -> np.ndarray:
    """Static backdrop: a lit wall gradient with soft blotches, a neck and shoulders (float32 RGB)."""
    height, width = spec.frame_size
    face = spec.face
    ramp = (
        0.6 * np.arange(width, dtype=np.float32)[None, :, None] / width
        + 0.4 * np.arange(height, dtype=np.float32)[:, None, None] / height
    )
    near, far = (np.asarray(c, np.float32) for c in spec.backdrop)
    frame = near * (1 - ramp) + far * ramp
    blotch_rng = np.random.default_rng([spec.room_seed, 5])
    blotches = blotch_rng.standard_normal((6, 8)).astype(np.float32)
    frame *= (1 + 0.05 * cv2.resize(blotches, (width, height), interpolation=cv2.INTER_CUBIC))[..., None]

    shift = 4

    def pts(points):
        return [np.round(np.asarray(points) * (1 << shift)).astype(np.int32)]

    skin = tuple(0.75 * c for c in face.skin)
    cx, cy, a, b = geo_frame.cx, geo_frame.cy, geo_frame.a, geo_frame.b
    if face.hair_length > 0.15:
        # long hair falls behind the neck; the head patch covers its top
        half = a * (1 + face.hair_volume) * 0.97
        bottom = cy + (0.4 + 1.4 * face.hair_length) * b
        hair = [
            (cx - half, cy - 0.2 * b),
            (cx + half, cy - 0.2 * b),
            (cx + half * 1.05, bottom),
            (cx - half * 1.05, bottom),
        ]
        cv2.fillPoly(frame, pts(hair), tuple(0.9 * c for c in face.hair), cv2.LINE_AA, shift)
    neck = [
        (cx - 0.55 * a, cy + 0.5 * b),
        (cx + 0.55 * a, cy + 0.5 * b),
        (cx + 0.62 * a, cy + 1.45 * b),
        (cx - 0.62 * a, cy + 1.45 * b),
    ]
    cv2.fillPoly(frame, pts(neck), skin, cv2.LINE_AA, shift)
    center = (int(round(cx * (1 << shift))), int(round((cy + 1.35 * b + 1.1 * b) * (1 << shift))))
    axes = (int(round(2.3 * a * (1 << shift))), int(round(1.2 * b * (1 << shift))))
    cv2.ellipse(frame, center, axes, 0, 0, 360, face.clothes, -1, cv2.LINE_AA, shift)
    return frame


def _smooth_wander(rng: np.random.Generator, n: int, period_frames: float) -> np.ndarray:
    """A slow random wave within [-1, 1]: three sinusoids with random phases, periods ``period_frames`` down to half that.

    Scaled by its largest possible value, not the value reached, so a clip much
    shorter than the period drifts only a little, as a slow drift should.
    """
    t = np.arange(n, dtype=np.float64)
    wave = np.zeros(n)
    total = 0.0
    for k in range(3):
        period = period_frames * rng.uniform(0.7, 1.4) / (1 + 0.5 * k)
        weight = rng.uniform(0.5, 1.0) / (k + 1)
        wave += weight * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        total += weight
    return wave / total


def _split(rendered: tuple[np.ndarray, FaceGeometry]) -> tuple[tuple[np.ndarray, np.ndarray], FaceGeometry]:
    """Separate a premultiplied RGBA patch into contiguous colour and alpha (OpenCV warps them fastest)."""
    patch, geo = rendered
    return (np.ascontiguousarray(patch[..., :3]), np.ascontiguousarray(patch[..., 3])), geo


def _blend(open_: tuple[np.ndarray, np.ndarray], closed: tuple[np.ndarray, np.ndarray], closure: float):
    """The head part-way through a blink: open and closed eyelids cross-faded."""
    return tuple(o + np.float32(closure) * (c - o) for o, c in zip(open_, closed))


def render_clip(spec: ClipSpec, *, frames: int | None = None) -> SynthClip:
    """Render one clip; the same spec always gives identical arrays.

    ``frames`` renders only the first frames (all ground truth is still
    complete): every random draw happens before the frame loop, so the result is
    an exact prefix of the full clip. Face-detection checks need just frame 0.
    """
    n_render = spec.n_frames if frames is None else int(frames)
    if not 1 <= n_render <= spec.n_frames:
        raise ValueError(f"frames must be within 1..{spec.n_frames} for this clip, got {frames}")
    rng = np.random.default_rng(spec.seed)
    height, width = spec.frame_size
    n = spec.n_frames
    head_open, geo = _split(render_head(spec.face, spec.face_height))
    head_closed = _split(render_head(spec.face, spec.face_height, eyes_closed=True))[0] if spec.blinks else None
    patch_h, patch_w = head_open[1].shape
    fcx, fcy = spec.face_center
    # patch pixel (px, py) sits at frame pixel (px + ox, py + oy)
    ox, oy = fcx - geo.cx, fcy - geo.cy
    margin = int(np.ceil(3 * spec.jitter + spec.amplitude + 3))
    x0, y0 = max(0, int(np.floor(ox)) - margin), max(0, int(np.floor(oy)) - margin)
    x1, y1 = min(width, int(np.ceil(ox)) + patch_w + margin), min(height, int(np.ceil(oy)) + patch_h + margin)
    roi_h, roi_w = y1 - y0, x1 - x0

    frame_geo = FaceGeometry(fcx, fcy, geo.a, geo.b)
    background = _background(spec, frame_geo)
    # the regions' motion lives on the face (patch grid) and is carried along by the head's jitter
    field = dynamics.displacement_field(spec.regions, spec.face, geo, (patch_h, patch_w), spec.asymmetry, spec.turn)
    curve = dynamics.motion_curve(n, spec.onset, spec.apex, spec.offset, spec.amplitude)
    closure = dynamics.blink_curve(n, spec.blinks, spec.blink_frames)

    sway_period, light_period = SWAY_SECONDS * spec.fps, LIGHT_SECONDS * spec.fps
    jitter_x = spec.jitter * _smooth_wander(rng, n, sway_period) + rng.normal(0, 0.03, n)
    jitter_y = 0.7 * spec.jitter * _smooth_wander(rng, n, sway_period) + rng.normal(0, 0.03, n)
    rotation = np.deg2rad(0.6 * min(spec.jitter, 1.5) * _smooth_wander(rng, n, sway_period))
    gain = 1 + rng.uniform(0.01, 0.03) * _smooth_wander(rng, n, light_period)
    tilt = rng.uniform(0.01, 0.03) * _smooth_wander(rng, n, light_period)
    noise_sigma = rng.uniform(1.5, 3.0)

    # ROI pixels relative to the face centre; the head turns about that centre
    ys, xs = np.mgrid[0:roi_h, 0:roi_w].astype(np.float32)
    rel_x, rel_y = xs - np.float32(fcx - x0), ys - np.float32(fcy - y0)
    column = np.repeat(((np.arange(width, dtype=np.float32) / width) - 0.5)[None, :, None], 3, axis=2)

    def head_maps(t: int) -> tuple[np.ndarray, np.ndarray]:
        """Where each ROI pixel comes from in the patch under the head's rigid jitter alone."""
        c, s = np.float32(np.cos(rotation[t])), np.float32(np.sin(rotation[t]))
        qx, qy = rel_x - np.float32(jitter_x[t]), rel_y - np.float32(jitter_y[t])
        return c * qx + s * qy + np.float32(geo.cx), -s * qx + c * qy + np.float32(geo.cy)

    def on_face(values: np.ndarray, rigid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """A patch-grid field seen through the head's pose at one frame (ROI grid)."""
        return cv2.remap(values, *rigid, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    # sensor noise: randomly shifted crops of a few independent noise fields
    # (fresh Gaussian noise for every frame would cost more than the rest of the
    # frame); each field has its own seed, so it is drawn only when first used
    pad = 16
    picks = rng.integers(0, NOISE_FIELDS, n)
    shifts = rng.integers(0, 2 * pad + 1, (n, 2))
    noise_fields: dict[int, np.ndarray] = {}

    def noise_field(k: int) -> np.ndarray:
        if k not in noise_fields:
            field_rng = np.random.default_rng([spec.seed, 1, k])
            noise_fields[k] = field_rng.standard_normal((height + 2 * pad, width + 2 * pad, 3), dtype=np.float32)
            noise_fields[k] *= np.float32(noise_sigma)
        return noise_fields[k]

    video = np.empty((n_render, height, width, 3), np.uint8)
    for t in range(n_render):
        colour, alpha = head_open if closure[t] == 0 else _blend(head_open, head_closed, float(closure[t]))
        map_x, map_y = rigid = head_maps(t)
        if curve[t] > 0:
            map_x = map_x - curve[t] * on_face(field.dx, rigid)
            map_y = map_y - curve[t] * on_face(field.dy, rigid)
        colour = cv2.remap(colour, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        alpha = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if curve[t] > 0:
            folds = 1 + (curve[t] / spec.amplitude) * on_face(field.shading, rigid)
            cv2.multiply(colour, cv2.merge([folds] * 3), dst=colour)
        frame = background.copy()
        roi = frame[y0:y1, x0:x1]
        cv2.multiply(roi, cv2.merge([1 - alpha] * 3), dst=roi)
        cv2.add(roi, colour, dst=roi)
        frame *= np.float32(gain[t] * spec.light) * (1 + np.float32(tilt[t]) * column)
        sy, sx = shifts[t]
        noise = noise_field(int(picks[t]))[sy : sy + height, sx : sx + width]
        video[t] = cv2.add(frame, noise, dtype=cv2.CV_8U)  # saturating conversion to 0..255

    apex_pose = head_maps(spec.apex)
    apex_alpha, apex_support = on_face(head_open[1], apex_pose), on_face(field.support, apex_pose)
    motion_mask = np.zeros((height, width), bool)
    motion_mask[y0:y1, x0:x1] = (apex_support >= MASK_THRESHOLD) & (apex_alpha > 0.5)

    face_box = (
        int(round(fcx - geo.a + jitter_x[0])),
        int(round(fcy - geo.b + jitter_y[0])),
        int(round(2 * geo.a)),
        int(round(2 * geo.b)),
    )
    return SynthClip(
        spec=spec,
        frames=video,
        motion_mask=motion_mask,
        motion_curve=curve,
        face_box=face_box,
        regions=spec.regions,
        emotion=spec.emotion,
        action_units=spec.action_units,
    )
