"""Recognition zones and masks of a channel. The TS-API guide gives zone coordinates in an 8K logical
coordinate system (7680×4320) whatever the video's resolution ("the abscissas are multiplied by
7680/1920 …", `/api/enum?what=lprSrc`); platehub's polygons use the same, so a zone drawn once fits
every stream of the camera. A plate counts when its box centre is inside a zone (or there is no zone)
and inside no mask."""

from __future__ import annotations

from collections.abc import Sequence

LOGICAL_W, LOGICAL_H = 7680, 4320

Polygon = tuple[tuple[float, float], ...]


def parse_polygons(value: object, name: str) -> tuple[Polygon, ...]:
    """`[[[x, y], [x, y], [x, y], …], …]` in logical coordinates → polygons; a ValueError naming `name`."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{name}: a list of polygons, each a list of [x, y] points")
    polygons = []
    for poly in value:
        if not isinstance(poly, list | tuple) or len(poly) < 3:
            raise ValueError(f"{name}: each polygon needs at least 3 [x, y] points")
        points = []
        for pt in poly:
            if (not isinstance(pt, list | tuple) or len(pt) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pt)):
                raise ValueError(f"{name}: a point is [x, y] with numbers")
            x, y = float(pt[0]), float(pt[1])
            if not (0 <= x <= LOGICAL_W and 0 <= y <= LOGICAL_H):
                raise ValueError(f"{name}: points are in 8K logical coordinates, 0..{LOGICAL_W} × 0..{LOGICAL_H}")
            points.append((x, y))
        polygons.append(tuple(points))
    return tuple(polygons)


def inside(x: float, y: float, poly: Sequence[tuple[float, float]]) -> bool:
    """Point in polygon (even-odd rule)."""
    result = False
    j = len(poly) - 1
    for i in range(len(poly)):
        (xi, yi), (xj, yj) = poly[i], poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            result = not result
        j = i
    return result


def wanted(box: tuple[float, float, float, float], width: int, height: int,
           zones: Sequence[Polygon], masks: Sequence[Polygon]) -> bool:
    """Whether a plate box (image pixels of a width × height frame) is read: centre in a zone, in no mask."""
    x = (box[0] + box[2]) / 2 * LOGICAL_W / width
    y = (box[1] + box[3]) / 2 * LOGICAL_H / height
    if zones and not any(inside(x, y, z) for z in zones):
        return False
    return not any(inside(x, y, m) for m in masks)
