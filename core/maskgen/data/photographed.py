"""Detailed procedural masks as a collection of photographs and scans: ``builtin-photographed``.

The base models shipped with maskgen were trained on the exact detailed masks, so a benchmark on more
of those masks measures transfer inside one distribution. A real collection is not that: its masks are
photographed or scanned, framed differently, on a paper or cloth backdrop, lit from one side, with a
colour cast, faded or saturated pigments, a little out of focus, noisy and JPEG-compressed. This
module turns a rendered mask into such a picture, so that the stand-in carries the domain shift a
user's folder brings. The mask itself (its layout, linework and symmetry) is not changed; the camera
is. Every effect is drawn per image from a generator seeded by the mask's seed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from maskgen.data.procedural import render_set
from maskgen.data.procedural_detailed import render_detailed_mask

# Each photograph is made at SUPERSAMPLE x the output size, then shrunk, as a camera's sensor is finer
# than the training resolution.
SUPERSAMPLE = 2
# The seed stream of the camera is kept apart from the mask's own seed stream.
CAMERA_SEED_OFFSET = 7_919


@dataclass(frozen=True)
class Camera:
    """How one picture of a mask is taken. Ranges are those :func:`draw_camera` samples from."""

    tilt_degrees: float  # +-5
    shift: tuple[float, float]  # fraction of the width, +-0.05
    scale: float  # the mask's size in the frame, 0.8-1.02
    backdrop: tuple[float, float, float]  # RGB in [0, 1]: off-white paper, grey or cream card
    light: tuple[float, float]  # brightness gradient across x and y, +-0.15
    vignette: float  # darkening at the corners, 0-0.2
    white_balance: tuple[float, float, float]  # per-channel gains, 0.92-1.06
    saturation: float  # 0.7-1.15: faded or vivid pigments
    gamma: float  # 0.85-1.2
    blur: float  # Gaussian sigma in output pixels, 0-0.6
    noise: float  # sensor noise std, 0.005-0.03
    jpeg_quality: int  # 55-95


def draw_camera(rng: np.random.Generator) -> Camera:
    """A random :class:`Camera` from the ranges a folder of collected mask pictures spans."""
    backdrop_kind = rng.choice(3, p=[0.6, 0.25, 0.15])  # off-white paper, grey card, cream card
    if backdrop_kind == 0:
        backdrop = 1.0 - rng.uniform(0.0, 0.06, 3)
    elif backdrop_kind == 1:
        backdrop = np.full(3, rng.uniform(0.7, 0.9)) + rng.uniform(-0.02, 0.02, 3)
    else:
        backdrop = np.array([0.96, 0.91, 0.8]) + rng.uniform(-0.04, 0.03, 3)
    return Camera(
        tilt_degrees=float(rng.uniform(-5, 5)),
        shift=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.05, 0.05))),
        scale=float(rng.uniform(0.8, 1.02)),
        backdrop=tuple(float(v) for v in np.clip(backdrop, 0, 1)),  # type: ignore[arg-type]
        light=(float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))),
        vignette=float(rng.uniform(0, 0.2)),
        white_balance=tuple(float(v) for v in rng.uniform(0.92, 1.06, 3)),  # type: ignore[arg-type]
        saturation=float(rng.uniform(0.7, 1.15)),
        gamma=float(rng.uniform(0.85, 1.2)),
        blur=float(rng.uniform(0, 0.6)),
        noise=float(rng.uniform(0.005, 0.03)),
        jpeg_quality=int(rng.integers(55, 96)),
    )


def foreground(image: Image.Image, threshold: int = 245) -> np.ndarray:
    """Boolean [H, W]: the mask, i.e. everything but the near-white background around it.

    The background is the near-white region connected to the image border; white fields inside the
    face (eye fields, white faces) are enclosed by the face outline and stay foreground.
    """
    light = np.asarray(image.convert("L")) >= threshold
    # copy(): an image made by fromarray shares the array's memory, which floodfill does not fill.
    marks = Image.fromarray(np.where(light, 255, 0).astype(np.uint8)).copy()
    w, h = marks.size
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        if marks.getpixel(corner) == 255:
            ImageDraw.floodfill(marks, corner, 128)
    return np.asarray(marks) != 128


def photograph(image: Image.Image, size: int, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """``image`` (a mask on white) as ``camera`` would take it: uint8 [size, size, 3]."""
    work = size * SUPERSAMPLE
    mask = image.convert("RGB").resize((work, work), Image.Resampling.LANCZOS)
    alpha = Image.fromarray(foreground(mask).astype(np.uint8) * 255)
    # Framing: the mask scaled, tilted and moved in the frame.
    side = max(1, round(work * camera.scale))
    rgba = mask.resize((side, side), Image.Resampling.LANCZOS)
    rgba.putalpha(alpha.resize((side, side), Image.Resampling.BILINEAR))
    layer = Image.new("RGBA", (work, work), (0, 0, 0, 0))
    offset = (work - side) // 2
    layer.paste(rgba, (offset + round(camera.shift[0] * work), offset + round(camera.shift[1] * work)))
    layer = layer.rotate(camera.tilt_degrees, Image.Resampling.BICUBIC)
    # The mask laid on the backdrop.
    pixels = np.asarray(layer, np.float32) / 255
    a = pixels[..., 3:]
    x = pixels[..., :3] * a + np.asarray(camera.backdrop, np.float32) * (1 - a)
    # Pigments: faded or vivid, a colour cast, the camera's tone curve.
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * camera.saturation
    x = np.clip(x * np.asarray(camera.white_balance, np.float32), 0, 1) ** camera.gamma
    # Light: brighter on one side, darker towards the corners.
    ramp = np.linspace(-1, 1, work, dtype=np.float32)
    gx, gy = np.meshgrid(ramp, ramp)
    light = 1 + camera.light[0] * gx + camera.light[1] * gy - camera.vignette * (gx**2 + gy**2) / 2
    x = np.clip(x * light[..., None], 0, 1)
    # Optics and sensor: shrink to the output size, defocus, noise, JPEG.
    small = Image.fromarray((x * 255 + 0.5).astype(np.uint8)).resize((size, size), Image.Resampling.LANCZOS)
    if camera.blur > 0.05:
        small = small.filter(ImageFilter.GaussianBlur(camera.blur))
    y = np.asarray(small, np.float32) / 255 + rng.normal(0, camera.noise, (size, size, 3)).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)).save(
        buffer, "JPEG", quality=camera.jpeg_quality
    )
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def render_photographed_mask(seed: int, size: int, category: int | None = None) -> tuple[Image.Image, dict]:
    """The detailed mask of ``seed`` (and ``category``) photographed: (PIL image, meta).

    ``meta`` is the detailed mask's (``"symmetric"`` describes the painted mask, not the picture), with
    the camera settings under ``"camera"``. The same seed, size and class give the same pixels.
    """
    mask, meta = render_detailed_mask(seed, size * SUPERSAMPLE, category)
    rng = np.random.default_rng(seed + CAMERA_SEED_OFFSET)
    camera = draw_camera(rng)
    picture = photograph(mask, size, camera, rng)
    return Image.fromarray(picture), {**meta, "camera": camera.__dict__}


def render_photographed_masks_with_meta(
    count: int, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``count`` photographed masks: uint8 [N, size, size, 3], int64 labels, metas. Mask i is the
    photograph of mask i of ``render_detailed_masks(count, ..., seed)``."""
    return render_set(render_photographed_mask, count, size, seed)


def render_photographed_masks(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` photographed masks: uint8 [N, size, size, 3] and int64 labels."""
    images, labels, _ = render_photographed_masks_with_meta(count, size, seed)
    return images, labels
