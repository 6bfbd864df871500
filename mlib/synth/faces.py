"""Synthetic faces: a subject's appearance traits and their neutral rendering.

A face is drawn once per clip, supersampled and shaded so that OpenCV's
frontal-face Haar cascade finds it (dark brows and eye sockets above brighter
cheeks, a bright nose bridge, a shaded oval against hair and background). The
renderer then only warps this still image, so a frame costs a remap, not a
redraw.

Face coordinates: ``u`` runs across the face (-1 at the image-left edge of the
oval, +1 at the image-right edge), ``v`` down it (-1 at the top of the oval,
+1 at the chin). The subject's left is the image right (``u > 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SUPERSAMPLE = 2
"""Faces are drawn at this multiple of the frame resolution and then area-downsampled."""


@dataclass(frozen=True)
class FaceTraits:
    """Everything that makes one face look like itself (colours are RGB 0-255)."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    clothes: tuple[float, float, float]
    aspect: float  # oval height / width
    jaw: float  # how much the oval narrows towards the chin
    hairline: float  # v of the hairline at the centre
    hair_volume: float  # hair extent beyond the oval, as a fraction of the half-width
    hair_length: float  # 0 short; towards 1 the hair falls behind the neck to the shoulders
    parting: float  # slope of the hairline: a side parting raises one temple
    eye_u: float  # |u| of the eye centres
    eye_v: float
    eye_w: float  # eye half-width in u units
    eye_h: float  # eye half-height in v units
    brow_v: float  # v of the brows above the eyes
    brow_thick: float  # brow thickness in v units
    brow_tilt: float  # outer brow end rises (+) or falls (-), v units
    nose_v: float  # v of the nose tip
    nose_w: float  # nostril half-span in u units
    mouth_v: float
    mouth_w: float  # mouth half-width in u units
    lip_h: float  # lip thickness in v units
    light_side: float  # -1..1: which side the light comes from
    texture_seed: int  # fixed skin texture of this face


HAIR_COLOURS = ((22, 18, 16), (55, 38, 27), (95, 66, 42), (135, 92, 55), (120, 58, 32), (160, 126, 82), (135, 132, 128))
"""Black, dark brown, brown, light brown, auburn, dark blond, grey (RGB)."""
HAIR_WEIGHTS = np.array([0.3, 0.25, 0.15, 0.1, 0.08, 0.07, 0.05])


def random_traits(rng: np.random.Generator) -> FaceTraits:
    """Draw one face's traits; every draw is a plausible, detectable face."""
    tone = rng.uniform(0.35, 1.0)
    skin = (110 + 130 * tone, 70 + 115 * tone, 50 + 105 * tone)
    hair = np.asarray(HAIR_COLOURS[int(rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS))]) * rng.uniform(0.85, 1.15)
    return FaceTraits(
        skin=tuple(float(c) for c in skin),
        hair=tuple(float(c) for c in hair),
        lips=(
            float(skin[0] * rng.uniform(0.62, 0.78)),
            float(skin[1] * rng.uniform(0.38, 0.52)),
            float(skin[2] * rng.uniform(0.42, 0.58)),
        ),
        iris=tuple(float(c) for c in rng.uniform(20, 110, 3)),
        clothes=tuple(float(c) for c in rng.uniform(20, 200, 3)),
        aspect=float(rng.uniform(1.22, 1.42)),
        jaw=float(rng.uniform(0.12, 0.32)),
        hairline=float(rng.uniform(-0.78, -0.6)),
        hair_volume=float(rng.uniform(0.06, 0.22)),
        hair_length=float(rng.uniform(0, 1) ** 2),
        parting=float(rng.uniform(-0.15, 0.15)),
        eye_u=float(rng.uniform(0.36, 0.44)),
        eye_v=float(rng.uniform(-0.16, -0.06)),
        eye_w=float(rng.uniform(0.15, 0.2)),
        eye_h=float(rng.uniform(0.05, 0.075)),
        brow_v=float(rng.uniform(0.15, 0.21)),
        brow_thick=float(rng.uniform(0.035, 0.06)),
        brow_tilt=float(rng.uniform(-0.05, 0.06)),
        nose_v=float(rng.uniform(0.24, 0.34)),
        nose_w=float(rng.uniform(0.12, 0.18)),
        mouth_v=float(rng.uniform(0.52, 0.62)),
        mouth_w=float(rng.uniform(0.24, 0.34)),
        lip_h=float(rng.uniform(0.035, 0.055)),
        light_side=float(rng.uniform(-0.6, 0.6)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


@dataclass
class FaceGeometry:
    """Where a face sits in a patch: oval centre and half-axes in patch pixels."""

    cx: float
    cy: float
    a: float  # half-width
    b: float  # half-height

    def to_pixels(self, u: float, v: float) -> tuple[float, float]:
        return self.cx + u * self.a, self.cy + v * self.b


def patch_geometry(traits: FaceTraits, face_height: float) -> tuple[FaceGeometry, tuple[int, int]]:
    """The oval inside a head patch (hair, ears, margin) and the patch size (h, w), frame pixels."""
    b = face_height / 2
    a = b / traits.aspect
    margin_x = a * (0.3 + traits.hair_volume)
    top = b * (0.25 + traits.hair_volume)
    bottom = b * 0.12
    width = int(np.ceil(2 * a + 2 * margin_x))
    height = int(np.ceil(top + 2 * b + bottom))
    return FaceGeometry(cx=width / 2, cy=top + b, a=a, b=b), (height, width)


def _oval_polygon(geo: FaceGeometry, jaw: float, scale: float = 1.0, n: int = 96) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    narrowing = 1 - jaw * np.clip(np.sin(theta), 0, None) ** 2
    xs = geo.cx + scale * geo.a * np.cos(theta) * narrowing
    ys = geo.cy + scale * geo.b * np.sin(theta)
    return np.stack([xs, ys], axis=1)


def _fill(canvas: np.ndarray, points: np.ndarray, color, shift: int = 4) -> None:
    pts = np.round(points * (1 << shift)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], color, lineType=cv2.LINE_AA, shift=shift)


def _ellipse(canvas, center, axes, angle, color, thickness=-1, start=0, end=360, shift: int = 4) -> None:
    c = tuple(int(round(x * (1 << shift))) for x in center)
    ax = tuple(max(1, int(round(x * (1 << shift)))) for x in axes)
    cv2.ellipse(canvas, c, ax, angle, start, end, color, thickness, cv2.LINE_AA, shift)


def _gauss(U, V, u0, v0, su, sv):
    return np.exp(-0.5 * (((U - u0) / su) ** 2 + ((V - v0) / sv) ** 2))


def render_head(traits: FaceTraits, face_height: float, eyes_closed: bool = False) -> tuple[np.ndarray, FaceGeometry]:
    """Draw the neutral head as a premultiplied RGBA float32 patch (values 0-255, alpha 0-1).

    ``face_height`` is the oval's height in frame pixels. Returns the patch and
    the oval's geometry in patch pixels.
    """
    geo, (height, width) = patch_geometry(traits, face_height)
    s = SUPERSAMPLE
    big = FaceGeometry(geo.cx * s, geo.cy * s, geo.a * s, geo.b * s)
    H, W = height * s, width * s

    rgb = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    # hair mass behind the head
    hv = 1 + traits.hair_volume
    _ellipse(rgb, (big.cx, big.cy - 0.18 * big.b), (big.a * hv, big.b * (0.92 + traits.hair_volume)), 0, traits.hair)
    _ellipse(alpha, (big.cx, big.cy - 0.18 * big.b), (big.a * hv, big.b * (0.92 + traits.hair_volume)), 0, 1.0)
    # ears
    for side in (-1, 1):
        center = (big.cx + side * big.a * 0.97, big.cy + 0.02 * big.b)
        _ellipse(rgb, center, (0.13 * big.a, 0.2 * big.b), 0, tuple(0.85 * c for c in traits.skin))
    # face oval, shaded (the shading is smooth, so it is computed at frame resolution)
    oval = _oval_polygon(big, traits.jaw)
    skin_mask = np.zeros((H, W), np.float32)
    _fill(skin_mask, oval, 1.0)
    _fill(alpha, oval, 1.0)
    shade = cv2.resize(_skin_shading(traits, geo, (height, width)), (W, H), interpolation=cv2.INTER_LINEAR)
    skin_rgb = np.asarray(traits.skin, np.float32)[None, None, :] * shade[..., None]
    rgb = rgb * (1 - skin_mask[..., None]) + skin_rgb * skin_mask[..., None]
    # fringe: hair over the forehead above a curved hairline
    U = ((np.arange(W, dtype=np.float32) - big.cx) / big.a)[None, :]
    V = ((np.arange(H, dtype=np.float32) - big.cy) / big.b)[:, None]
    hairline = traits.hairline + 0.35 * U**2 + traits.parting * U
    fringe = np.clip((hairline - V) * big.b / (1.5 * s), 0, 1) * skin_mask
    rgb = rgb * (1 - fringe[..., None]) + np.asarray(traits.hair, np.float32) * fringe[..., None]

    _draw_features(rgb, big, traits, eyes_closed)
    rgb *= (1 - FOLD_DARKNESS * _nasolabial_folds(big, traits, (H, W)) * skin_mask)[..., None]

    texture_rng = np.random.default_rng(traits.texture_seed)
    texture = texture_rng.standard_normal((H // 4 + 1, W // 4 + 1)).astype(np.float32)
    texture = cv2.resize(texture, (W, H), interpolation=cv2.INTER_CUBIC)
    rgb *= (1 + 0.035 * texture)[..., None]
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.6 * s)
    rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    patch = np.dstack([np.clip(rgb, 0, 255) * alpha[..., None], alpha]).astype(np.float32)
    return patch, geo


FOLD_DARKNESS = 0.12
"""How much the nasolabial folds (nose wing to mouth corner) darken the skin."""


def _nasolabial_folds(big: FaceGeometry, t: FaceTraits, shape: tuple[int, int]) -> np.ndarray:
    """Soft 0..1 lines from each nose wing down to beyond the mouth corner."""
    folds = np.zeros(shape, np.float32)
    for side in (-1, 1):
        curve = _smooth(
            np.array(
                [
                    big.to_pixels(side * (t.nose_w + 0.06), t.nose_v - 0.02),
                    big.to_pixels(side * (t.nose_w + 0.2), (t.nose_v + t.mouth_v) / 2),
                    big.to_pixels(side * (t.mouth_w + 0.08), t.mouth_v + 0.08),
                ]
            )
        )
        pts = np.round(curve * 16).astype(np.int32)
        cv2.polylines(folds, [pts], False, 1.0, max(1, int(0.012 * big.b)), cv2.LINE_AA, 4)
    return cv2.GaussianBlur(folds, (0, 0), 0.01 * big.b + 1)


def _skin_shading(traits: FaceTraits, geo: FaceGeometry, shape: tuple[int, int]) -> np.ndarray:
    """Brightness multiplier of the skin: a rounded oval, dark eye sockets, bright nose bridge and cheeks."""
    ys, xs = (
        np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32) + 0.25
    )  # resizing by 2 puts pixel i at canvas pixel 2i + 0.5
    U = (xs - geo.cx) / geo.a
    V = (ys - geo.cy) / geo.b
    r2 = U**2 + (V * 0.95) ** 2
    shade = 1.08 - 0.38 * np.clip(r2, 0, 1.3) ** 1.5
    shade += 0.08 * traits.light_side * U
    for side in (-1, 1):
        shade -= 0.34 * _gauss(U, V, side * traits.eye_u, traits.eye_v - 0.02, 0.2, 0.1)
        shade += 0.1 * _gauss(U, V, side * 0.45, traits.nose_v - 0.02, 0.18, 0.14)
    bridge_v = (traits.eye_v + traits.nose_v) / 2
    shade += 0.14 * _gauss(U, V, 0.0, bridge_v, 0.07, (traits.nose_v - traits.eye_v) / 2)
    shade -= 0.18 * _gauss(U, V, 0.0, traits.nose_v + 0.07, 0.12, 0.035)  # under the nose
    shade -= 0.14 * _gauss(U, V, 0.0, traits.mouth_v + 0.16, 0.2, 0.06)  # under the lower lip
    shade -= 0.2 * np.clip((V - 0.82) / 0.18, 0, 1) ** 2  # below the jaw line
    return shade.astype(np.float32)


def _draw_features(rgb: np.ndarray, big: FaceGeometry, t: FaceTraits, eyes_closed: bool) -> None:
    """Brows, eyes, nose and mouth, drawn in place on the supersampled canvas."""
    skin = np.asarray(t.skin)
    # brows follow the hair colour but stay well below the skin's (fair brows vanish for the detector)
    brow_color = tuple(np.minimum(0.5 * np.asarray(t.hair) + 0.1 * skin, 0.5 * skin))
    for side in (-1, 1):
        inner = big.to_pixels(side * 0.12, t.eye_v - t.brow_v + 0.01)
        middle = big.to_pixels(side * (t.eye_u + 0.02), t.eye_v - t.brow_v - 0.04)
        outer = big.to_pixels(side * (t.eye_u + t.eye_w + 0.08), t.eye_v - t.brow_v - t.brow_tilt + 0.02)
        thick = t.brow_thick * big.b
        top = np.array([inner, middle, outer]) - [0, thick * 0.5]
        bottom = np.array([outer, middle, inner]) + [0, thick * 0.5]
        bottom[0, 1] -= thick * 0.4  # thinner at the outer end
        _fill(rgb, np.concatenate([_smooth(top), _smooth(bottom)]), brow_color)

        ex, ey = big.to_pixels(side * t.eye_u, t.eye_v)
        ew, eh = t.eye_w * big.a, t.eye_h * big.b
        lid_color = tuple(0.72 * skin)
        if eyes_closed:
            _ellipse(rgb, (ex, ey), (ew, eh), 0, lid_color)
            _ellipse(
                rgb,
                (ex, ey + 0.3 * eh),
                (ew, eh * 0.5),
                0,
                tuple(0.3 * skin),
                thickness=max(2, int(eh * 0.25)),
                start=0,
                end=180,
            )
        else:
            _ellipse(rgb, (ex, ey), (ew, eh), 0, (225, 220, 215))
            _ellipse(rgb, (ex, ey), (eh * 1.05, eh * 1.05), 0, t.iris)
            _ellipse(rgb, (ex, ey), (eh * 0.45, eh * 0.45), 0, (12, 10, 10))
            _ellipse(
                rgb,
                (ex, ey),
                (ew * 1.02, eh * 1.1),
                0,
                tuple(0.25 * skin),
                thickness=max(2, int(eh * 0.3)),
                start=180,
                end=360,
            )

    for side in (-1, 1):
        nx, ny = big.to_pixels(side * t.nose_w * 0.55, t.nose_v)
        _ellipse(rgb, (nx, ny), (t.nose_w * 0.32 * big.a, 0.028 * big.b), side * 15, tuple(0.35 * skin))
    for side in (-1, 1):
        x, y = big.to_pixels(side * t.nose_w, t.nose_v - 0.05)
        start = 60 if side < 0 else -120  # the arc opens towards the nose
        _ellipse(
            rgb,
            (x, y),
            (0.05 * big.a, 0.06 * big.b),
            0,
            tuple(0.8 * skin),
            thickness=max(1, int(0.01 * big.b)),
            start=start,
            end=start + 240,
        )

    mx, my = big.to_pixels(0, t.mouth_v)
    mw, mh = t.mouth_w * big.a, t.lip_h * big.b
    _ellipse(rgb, (mx, my - mh * 0.5), (mw, mh), 0, t.lips, start=180, end=360)
    _ellipse(rgb, (mx, my + mh * 0.1), (mw * 0.92, mh * 1.3), 0, tuple(1.08 * np.asarray(t.lips)), start=0, end=180)
    cv2.line(
        rgb,
        (int(mx - mw), int(my)),
        (int(mx + mw), int(my)),
        tuple(0.3 * np.asarray(t.lips)),
        max(1, int(mh * 0.3)),
        cv2.LINE_AA,
    )


def _smooth(points: np.ndarray, n: int = 12) -> np.ndarray:
    """A quadratic Bezier through three points (the middle one is the control point)."""
    s = np.linspace(0, 1, n)[:, None]
    p0, p1, p2 = points
    return (1 - s) ** 2 * p0 + 2 * (1 - s) * s * p1 + s**2 * p2
