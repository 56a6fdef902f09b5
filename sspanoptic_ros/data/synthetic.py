# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A synthetic panoptic world: scenes and sequences with pixel-exact panoptic ground truth.

A world is vector geometry plus textures: stuff regions (sky with clouds, brick walls,
grass, a road with lane marks) as polygons over world-sized textures, and things (red
discs, blue boxes, yellow triangles) as polygons with their own colour and shading,
painted back to front. Same-class things often overlap, the case the panoptic head's
closest-centre rule is for.

The image and the ground truth are drawn from the same rasterised masks (no
anti-aliasing), so the ground truth is pixel-exact. A thing whose visible part is smaller
than MIN_VISIBLE_PIXELS or than MIN_VISIBLE_FRACTION of its in-view area is not drawn at
all (rather than drawn but left out of the ground truth), so every visible pixel is
labelled and no segment is a sliver.

``render_scene`` draws one scene; ``render_sequence`` a camera panning and zooming over one
world, things drifting across each other, hidden and out of view for a while and back, each
thing keeping its segment id (the ground truth of ``sspanoptic-stq``). ``synthetic_dataset``
writes them to disk in COCO panoptic format.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from sspanoptic_ros.categories import Category
from sspanoptic_ros.data.coco import index_boxes

SYNTHETIC_CATEGORIES = [
    Category(1, "disc", True, (220, 40, 60)),
    Category(2, "box", True, (40, 90, 220)),
    Category(3, "triangle", True, (240, 200, 20)),
    Category(11, "sky", False, (130, 185, 235)),
    Category(12, "wall", False, (150, 75, 55)),
    Category(13, "grass", False, (60, 160, 60)),
    Category(14, "road", False, (100, 100, 110)),
]
_ID = {c.name: c.id for c in SYNTHETIC_CATEGORIES}

MIN_VISIBLE_PIXELS = 40
MIN_VISIBLE_FRACTION = 0.2
SAME_CLASS_PARTNER_PROB = 0.5
THING_ID_BASE = 1000  # thing k has segment id THING_ID_BASE + k; a stuff segment, its class id
_WORLD_SCALE = 2.0  # a sequence's world is this many frames high and wide
_CAMERA_PERIODS = (240.0, 170.0, 110.0)  # frames per cycle of the pan in x, in y, and the zoom
_SWAY_PERIOD = 90.0  # frames per cycle of a thing's back-and-forth drift
_THING_COLOURS = {  # (lowest, highest) base RGB of each thing class
    _ID["disc"]: ((170, 10, 20), (255, 70, 70)),
    _ID["box"]: ((20, 60, 160), (80, 130, 255)),
    _ID["triangle"]: ((210, 170, 0), (255, 235, 60)),
}


@dataclass
class _Thing:
    category_id: int
    centre: np.ndarray  # world (x, y) at frame 0
    outline: np.ndarray  # (K, 2) polygon relative to the centre, world pixels
    radius: float  # distance of the farthest vertex, the unit of the shading
    colour: np.ndarray  # base RGB
    gradient: np.ndarray  # linear shading per radius across the shape
    curvature: float  # radial shading: discs look like balls
    sway: np.ndarray  # world (x, y) amplitude of the drift in a sequence


@dataclass
class _World:
    stuff: list[tuple[int, np.ndarray]]  # (category id, polygon), painted in order
    textures: dict[int, np.ndarray]  # stuff category id -> (H, W, 3) uint8 world texture
    things: list[_Thing]  # painted in order, later ones on top


def _fill(canvas: np.ndarray, polygon: np.ndarray, value: int | tuple) -> None:
    """Rasterise a polygon in pixel-edge coordinates, without anti-aliasing."""
    fixed = np.round((polygon - 0.5) * 16).astype(np.int32)  # cv2: integer = pixel centre
    cv2.fillPoly(canvas, [fixed], value, lineType=cv2.LINE_8, shift=4)


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Value noise in about [0, 1] with features about ``cell`` pixels wide."""
    cell = max(1, round(cell))
    grid = rng.random((height // cell + 2, width // cell + 2), dtype=np.float32)
    size = (grid.shape[1] * cell, grid.shape[0] * cell)
    return cv2.resize(grid, size, interpolation=cv2.INTER_CUBIC)[:height, :width]


def _noise(rng: np.random.Generator, height: int, width: int, sigma: float) -> np.ndarray:
    """Grey pixel noise (H, W, 1) float32."""
    return sigma * rng.standard_normal((height, width, 1), dtype=np.float32)


def _colour(rng: np.random.Generator, low, high, size=None) -> np.ndarray:
    """Uniform random RGB colour(s) between ``low`` and ``high``, float32."""
    return rng.uniform(low, high, size).astype(np.float32)


def _sky(rng, height, width, scale, horizon_y) -> np.ndarray:
    top = _colour(rng, (30, 80, 170), (70, 120, 210))
    bottom = _colour(rng, (160, 195, 225), (200, 225, 250))
    t = np.clip(np.arange(height, dtype=np.float32) / max(horizon_y, 1.0), 0, 1)[:, None, None]
    clouds = 0.7 * _smooth_noise(rng, height, width, 0.25 * scale)
    clouds += 0.3 * _smooth_noise(rng, height, width, 0.06 * scale)
    alpha = np.clip((clouds - rng.uniform(0.45, 0.65)) * 4, 0, 1)[..., None]
    white = np.array([245, 245, 250], dtype=np.float32)
    return (top + (bottom - top) * t) * (1 - alpha) + white * alpha


def _grass(rng, height, width, scale) -> np.ndarray:
    base = _colour(rng, (45, 115, 30), (90, 170, 70))
    shade = 0.75 + 0.5 * _smooth_noise(rng, height, width, 0.15 * scale)
    blades = cv2.resize(rng.random((max(height // 4, 1), width), dtype=np.float32),
                        (width, height), interpolation=cv2.INTER_LINEAR)
    return base * (shade + 0.3 * (blades - 0.5))[..., None]


def _road(rng, height, width, scale, centre_line, half_width) -> np.ndarray:
    grey = rng.uniform(70, 110) * (0.85 + 0.3 * _smooth_noise(rng, height, width, 0.1 * scale))
    road = grey[..., None] + _noise(rng, height, width, 8) + np.array([0, 0, 6], np.float32)
    (x0, y0), (x1, y1) = centre_line
    (w0, w1), dashes = half_width, int(rng.integers(8, 15))
    paint = ((235, 235, 225), (235, 200, 40))[int(rng.integers(2))]  # white or yellow
    for k in range(0, dashes, 2):  # dashes get shorter and thinner towards the horizon
        ta, tb = (k / dashes) ** 2, ((k + 1) / dashes) ** 2
        quad = []
        for t, side in ((ta, -1), (tb, -1), (tb, 1), (ta, 1)):
            quad.append((x0 + t * (x1 - x0) + side * 0.04 * (w0 + t * (w1 - w0)),
                         y0 + t * (y1 - y0)))
        _fill(road, np.array(quad), paint)
    return road


def _wall(rng, height, width, scale) -> np.ndarray:
    brick_h = max(3, round(scale * rng.uniform(0.03, 0.06)))
    brick_w = brick_h * rng.uniform(2.0, 3.0)
    mortar = max(1, brick_h // 6)
    rows = np.arange(height)[:, None] // brick_h
    x = np.arange(width)[None, :] + (rows % 2) * brick_w / 2
    palette = _colour(rng, (135, 50, 35), (200, 100, 75), (64, 3))
    bricks = palette[(rows * 31 + (x // brick_w).astype(np.int64) * 17) % 64]
    joints = (np.arange(height)[:, None] % brick_h < mortar) | (x % brick_w < mortar)
    bricks[joints] = rng.uniform(180, 215)
    return bricks + _noise(rng, height, width, 6)


def _make_stuff(rng, height, width, scale) -> tuple[list, dict]:
    """Lay out the stuff polygons and draw their world textures."""
    y_left = height * rng.uniform(0.3, 0.55)
    slope = rng.uniform(-0.06, 0.06)

    def horizon(x):
        return y_left + slope * x

    # Sky and grass reach well past the world so that no view ever shows void.
    sky = np.array([(-width, -height), (2 * width, -height), (2 * width, 2 * height),
                    (-width, 2 * height)], dtype=np.float64)
    layers = [(_ID["sky"], sky)]
    for _ in range(rng.poisson(0.8 * width / scale)):
        x0 = rng.uniform(-0.1, 1.0) * width
        x1 = x0 + rng.uniform(0.2, 0.6) * scale
        top = min(horizon(x0), horizon(x1)) - rng.uniform(0.15, 0.5) * scale
        bottom = max(horizon(x0), horizon(x1)) + 1
        layers.append((_ID["wall"], np.array([(x0, top), (x1, top), (x1, bottom), (x0, bottom)])))
    layers.append((_ID["grass"], np.array([(-width, horizon(-width)),
                                           (2 * width, horizon(2 * width)),
                                           (2 * width, 2 * height), (-width, 2 * height)])))
    textures = {
        _ID["sky"]: _sky(rng, height, width, scale, horizon(width / 2)),
        _ID["grass"]: _grass(rng, height, width, scale),
    }
    if any(c == _ID["wall"] for c, _ in layers):
        textures[_ID["wall"]] = _wall(rng, height, width, scale)
    if rng.random() < 0.85:
        vx = rng.uniform(0.2, 0.8) * width
        bx = vx + rng.uniform(-0.5, 0.5) * width
        top_w, bottom_w = 0.01 * scale + 1, rng.uniform(0.3, 0.7) * scale
        top_y, bottom_y = horizon(vx), height + 1.0
        layers.append((_ID["road"], np.array([(vx - top_w, top_y), (vx + top_w, top_y),
                                              (bx + bottom_w, bottom_y),
                                              (bx - bottom_w, bottom_y)])))
        textures[_ID["road"]] = _road(rng, height, width, scale,
                                      ((vx, top_y), (bx, bottom_y)), (top_w, bottom_w))
    textures = {c: np.clip(t, 0, 255).astype(np.uint8) for c, t in textures.items()}
    return layers, textures


def _make_thing(rng, category_id, centre, radius, scale) -> _Thing:
    if category_id == _ID["disc"]:
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        outline = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    elif category_id == _ID["box"]:
        a, b = radius * rng.uniform(0.55, 0.95), radius * rng.uniform(0.35, 0.95)
        phi = rng.uniform(-0.6, 0.6)
        rotation = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
        outline = np.array([(-a, -b), (a, -b), (a, b), (-a, b)]) @ rotation.T
    else:
        angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3
        angles += rng.uniform(-0.25, 0.25, 3)
        lengths = radius * rng.uniform(0.8, 1.0, 3)[:, None]
        outline = lengths * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    direction = rng.uniform(0, 2 * np.pi)
    low, high = _THING_COLOURS[category_id]
    return _Thing(
        category_id=category_id,
        centre=np.asarray(centre, dtype=np.float64),
        outline=outline,
        radius=float(np.linalg.norm(outline, axis=1).max()),
        colour=rng.uniform(low, high),
        gradient=rng.uniform(0.1, 0.35) * np.array([np.cos(direction), np.sin(direction)]),
        curvature=0.35 if category_id == _ID["disc"] else 0.0,
        sway=rng.normal(0, 0.05 * scale, 2),
    )


def _make_things(rng, height, width, scale) -> list[_Thing]:
    """Scatter things of all sizes; about half get an overlapping same-class partner."""
    thing_ids = [c.id for c in SYNTHETIC_CATEGORIES if c.isthing]
    things = []
    for _ in range(1 + rng.poisson(3.0 * height * width / scale**2)):
        category_id = int(rng.choice(thing_ids))
        radius = scale * math.exp(rng.uniform(math.log(0.03), math.log(0.3)))
        centre = rng.uniform((0, 0), (width, height))
        group = [_make_thing(rng, category_id, centre, radius, scale)]
        if rng.random() < SAME_CLASS_PARTNER_PROB:
            partner_radius = radius * rng.uniform(0.6, 1.4)
            angle = rng.uniform(0, 2 * np.pi)
            distance = (radius + partner_radius) * rng.uniform(0.25, 0.6)
            partner_centre = centre + distance * np.array([np.cos(angle), np.sin(angle)])
            partner = _make_thing(rng, category_id, partner_centre, partner_radius, scale)
            group.insert(int(rng.integers(0, 2)), partner)
        things.extend(group)
    return things


def _make_world(rng: np.random.Generator, height: int, width: int, scale: float) -> _World:
    """Build a world of ``height`` x ``width`` pixels for frames of short side ``scale``."""
    stuff, textures = _make_stuff(rng, height, width, scale)
    return _World(stuff, textures, _make_things(rng, height, width, scale))


def _draw_stuff(
    world: _World, origin: np.ndarray, zoom: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Draw the stuff; return the image, the stuff index map and the stuff category ids."""
    height, width = size
    stuff_ids = [c.id for c in SYNTHETIC_CATEGORIES if any(c.id == s for s, _ in world.stuff)]
    stuff_map = np.zeros(size, dtype=np.int32)
    for category_id, polygon in world.stuff:
        _fill(stuff_map, (polygon - origin) * zoom, stuff_ids.index(category_id))
    # cv2 maps pixel centres: view = zoom * world + shift, in centre-indexed coordinates.
    shift = 0.5 * zoom - 0.5 - zoom * origin
    warp = np.array([[zoom, 0, shift[0]], [0, zoom, shift[1]]])
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for k, category_id in enumerate(stuff_ids):
        selected = stuff_map == k
        texture = cv2.warpAffine(world.textures[category_id], warp, (width, height),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        image[selected] = texture[selected]
    return image, stuff_map, stuff_ids


def _topmost(masks: list[np.ndarray | None], indices: list[int], size) -> np.ndarray:
    """Return the last of ``indices`` whose mask covers each pixel, -1 where none does."""
    owner = np.full(size, -1, dtype=np.int64)
    for j in indices:
        owner[masks[j] > 0] = j
    return owner


def _visible_things(masks: list[np.ndarray | None], size: tuple[int, int]) -> np.ndarray:
    """Return the owner map of the things that stay visible enough to be drawn (-1: none)."""
    drawn = [j for j, m in enumerate(masks) if m is not None]
    owner = _topmost(masks, drawn, size)
    visible = np.bincount(owner[owner >= 0], minlength=len(masks))
    kept = [j for j in drawn if visible[j] >= max(
        MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * np.count_nonzero(masks[j]))]
    # Hiding a thing only uncovers the ones below it, so the kept ones stay valid.
    return owner if len(kept) == len(drawn) else _topmost(masks, kept, size)


def _paint_thing(image, rng, thing: _Thing, mask, selected, centre, radius) -> None:
    """Shade the ``selected`` pixels of a thing, darker along the outline of its ``mask``."""
    ys, xs = np.nonzero(selected)
    dx, dy = (xs + 0.5 - centre[0]) / radius, (ys + 0.5 - centre[1]) / radius
    shade = 1 + thing.gradient[0] * dx + thing.gradient[1] * dy
    shade -= thing.curvature * (dx**2 + dy**2)
    kernel = np.ones((2 * max(1, round(radius / 25)) + 1,) * 2, dtype=np.uint8)
    shade[cv2.erode(mask, kernel)[ys, xs] == 0] *= 0.55
    colour = thing.colour * shade[:, None] + rng.normal(0, 5, (len(ys), 1))
    image[ys, xs] = np.clip(colour, 0, 255).astype(np.uint8)


def _segments_info(segment: np.ndarray, ids: np.ndarray, category_ids: list[int]) -> list[dict]:
    """Return the COCO segments_info of the segments (0..len(ids)-1) that occur in the map."""
    counts = np.bincount(segment.ravel(), minlength=len(ids))
    boxes = np.nan_to_num(index_boxes(segment, len(ids))).astype(np.int64)
    boxes[:, 2:] -= boxes[:, :2]
    return [{"id": int(ids[s]), "category_id": int(category_ids[s]), "iscrowd": 0,
             "bbox": boxes[s].tolist(), "area": int(counts[s])}
            for s in np.nonzero(counts)[0]]


def _render(
    world: _World,
    rng: np.random.Generator,
    origin: np.ndarray,
    zoom: float,
    size: tuple[int, int],
    frame: int,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Draw the view with top-left corner at world point ``origin``, ``zoom`` px per world px."""
    height, width = size
    image, stuff_map, stuff_ids = _draw_stuff(world, origin, zoom, size)
    sway = math.sin(2 * math.pi * frame / _SWAY_PERIOD)
    centres = [(t.centre + sway * t.sway - origin) * zoom for t in world.things]
    masks: list[np.ndarray | None] = []
    for thing, centre in zip(world.things, centres):
        reach = thing.radius * zoom
        if not (-reach < centre[0] < width + reach and -reach < centre[1] < height + reach):
            masks.append(None)  # out of view
            continue
        masks.append(np.zeros(size, dtype=np.uint8))
        _fill(masks[-1], centre + thing.outline * zoom, 1)
    owner = _visible_things(masks, size)
    for j in np.unique(owner[owner >= 0]):
        thing = world.things[j]
        _paint_thing(image, rng, thing, masks[j], owner == j, centres[j], thing.radius * zoom)
    # Segment index: stuff class k, then world thing j at len(stuff_ids) + j.
    segment = np.where(owner >= 0, len(stuff_ids) + owner, stuff_map)
    ids = np.array(stuff_ids + [THING_ID_BASE + j for j in range(len(world.things))])
    category_ids = stuff_ids + [t.category_id for t in world.things]
    return image, ids[segment].astype(np.int32), _segments_info(segment, ids, category_ids)


def _check_size(height: int, width: int) -> None:
    if height < 32 or width < 32:
        raise ValueError(f"image size must be at least 32x32, got {height}x{width}")


def render_scene(
    seed: int | tuple[int, ...], height: int = 256, width: int = 384
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Render one scene, deterministic per ``seed``.

    Returns:
        The (H, W, 3) uint8 RGB image, the (H, W) int32 segment ids (no void) and the
        COCO ``segments_info`` (id, category_id, iscrowd, bbox, area).

    """
    _check_size(height, width)
    rng = np.random.default_rng(seed)
    world = _make_world(rng, height, width, min(height, width))
    return _render(world, rng, np.zeros(2), 1.0, (height, width), frame=0)


def render_sequence(
    num_frames: int, size: tuple[int, int] = (256, 384), seed: int | tuple[int, ...] = 0
) -> Iterator[tuple[np.ndarray, np.ndarray, list[dict]]]:
    """Yield frames as :func:`render_scene` does, from a camera panning and zooming smoothly.

    The world is twice the frame size. The camera moves a few pixels per frame along a
    periodic path, so sequences of any length stay inside it; things sway slowly and keep
    their segment id (THING_ID_BASE + index) over the whole sequence.
    """
    height, width = size
    _check_size(height, width)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    frame_size = np.array([width, height])
    world_size = frame_size * _WORLD_SCALE
    rng = np.random.default_rng(seed)
    world = _make_world(rng, round(world_size[1]), round(world_size[0]), min(height, width))
    phases = rng.uniform(0, 2 * np.pi, 3)
    for frame in range(num_frames):
        pan_x, pan_y, pulse = (math.sin(2 * math.pi * frame / period + phase)
                               for period, phase in zip(_CAMERA_PERIODS, phases))
        zoom = 1.0 + 0.2 * pulse  # frame pixels per world pixel
        # Centre within +-0.3 frames of the world's: the widest view (1.25 frames) fits.
        centre = frame_size * (_WORLD_SCALE / 2 + 0.3 * np.array([pan_x, pan_y]))
        half_view = frame_size / (2 * zoom)
        yield _render(world, rng, centre - half_view, zoom, (height, width), frame)
