"""Procedural footage for benchmarks: textured worlds seen through a panning, zooming camera,
with moving sprites and grain (cheap long clips whose hashes change like real ones)."""
from __future__ import annotations

import math
from typing import Iterator

import cv2
import numpy as np


def camera(t: float, seed: int) -> tuple[float, float, float]:
    """Smooth pan (cx, cy in 0..1 of the free margin) and zoom (>= 1) at time t."""
    phase = seed * 1.7
    zoom = 1.12 + 0.08 * math.sin(0.31 * t + phase)
    cx = 0.5 + 0.45 * math.sin(0.23 * t + 0.5 + phase)
    cy = 0.5 + 0.45 * math.sin(0.17 * t + 1.3 + phase)
    return cx, cy, zoom


def view(image: np.ndarray, cx: float, cy: float, zoom: float, width: int, height: int) -> np.ndarray:
    """Crop a window of the output aspect ratio (1/zoom of the image) and scale it to size."""
    img_h, img_w = image.shape[:2]
    aspect = width / height
    crop_w = min(img_w, img_h * aspect) / zoom
    crop_h = crop_w / aspect
    x0 = cx * (img_w - crop_w)
    y0 = cy * (img_h - crop_h)
    scale = width / crop_w
    # Sub-pixel affine crop: the view moves smoothly instead of in whole-pixel steps.
    matrix = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]], dtype=np.float64)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def smooth_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-octave value noise in [0, 1]: soft detail at several scales like real scenes."""
    out = np.zeros((height, width), np.float32)
    amplitude, total = 1.0, 0.0
    for cells in (4, 12, 40, 140):
        grid = rng.random((max(2, height * cells // width), cells)).astype(np.float32)
        out += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= 0.55
    out /= total
    return np.clip(out, 0, 1)


def make_world(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([smooth_noise(rng, height, width) for _ in range(3)], axis=-1)
    tint = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
    gradient = (0.5 + 0.5 * np.sin(xx / width * rng.uniform(2, 6) + yy / height * rng.uniform(1, 4)))
    world = (0.55 * base * tint + 0.35 * gradient[..., None] * tint[::-1]) * 255
    world = np.ascontiguousarray(np.clip(world, 0, 255).astype(np.uint8))
    # Hard-edged objects (buildings, signs, furniture) with their own texture.
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(width // 60, width // 10))
        if rng.random() < 0.5:
            cv2.rectangle(world, (x, y), (x + size, y + int(size * rng.uniform(0.3, 2))), colour, -1)
        else:
            cv2.circle(world, (x, y), size // 2, colour, -1, lineType=cv2.LINE_AA)
    for _ in range(12):
        text = "".join(chr(c) for c in rng.integers(65, 91, size=int(rng.integers(3, 10))))
        org = (int(rng.integers(0, width)), int(rng.integers(20, height)))
        cv2.putText(world, text, org, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(1, 4)),
                    (255, 255, 255), int(rng.integers(2, 6)), cv2.LINE_AA)
    detail = (smooth_noise(rng, height, width) - 0.5) * 40
    return np.clip(world.astype(np.float32) + detail[..., None], 0, 255).astype(np.uint8)


def synthetic_frames(n_frames: int, width: int, height: int, fps: int,
                      seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    world_w, world_h = int(width * 1.6), int(height * 1.6)
    worlds = [make_world(rng, world_h, world_w) for _ in range(3)]
    shot_seconds = 4.5
    sprites = [(rng.uniform(0, 1, 2), rng.uniform(-0.15, 0.15, 2), int(rng.integers(height // 12, height // 5)),
                tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(6)]
    grain_rng = np.random.default_rng(seed + 1)
    for index in range(n_frames):
        t = index / fps
        shot = int(t // shot_seconds)
        cx, cy, zoom = camera(t + 7.0 * shot, seed + shot)
        frame = view(worlds[shot % len(worlds)], cx, cy, zoom, width, height)
        for start, velocity, radius, colour in sprites:
            pos = (start + velocity * t) % 1.0
            centre = (int(pos[0] * width), int(pos[1] * height))
            cv2.circle(frame, centre, radius, colour, -1, lineType=cv2.LINE_AA)
            cv2.circle(frame, centre, radius // 2, tuple(255 - c for c in colour), 3, cv2.LINE_AA)
        # Light grain at quarter resolution (cheap, and soft like sensor noise after scaling).
        grain = grain_rng.normal(0, 3.0, (height // 4, width // 4, 1)).astype(np.float32)
        grain = cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
        yield np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8)
