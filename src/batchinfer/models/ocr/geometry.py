"""Small quadrilateral helpers shared by detection, cropping and result assembly.

A quad is a float32 array of shape (4, 2), points clockwise from the text's top-left corner.
"""

from __future__ import annotations

import numpy as np


def order_clockwise(points: np.ndarray) -> np.ndarray:
    """Order four points top-left, top-right, bottom-right, bottom-left (image axes)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1], kind="stable")]
    top_right, bottom_right = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a quad, as the longer of each pair of opposite edges."""
    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return float(width), float(height)


def quad_angle(quad: np.ndarray) -> float:
    """Angle in degrees of the quad's top edge, counter-clockwise positive as DI reports it."""
    dx, dy = quad[1] - quad[0]
    return float(np.degrees(np.arctan2(-dy, dx)))


def sub_quad(quad: np.ndarray, start: float, end: float) -> np.ndarray:
    """The part of a quad between fractions `start`..`end` of the way along its reading edge."""
    top, bottom = quad[1] - quad[0], quad[2] - quad[3]
    return np.array(
        [
            quad[0] + top * start,
            quad[0] + top * end,
            quad[3] + bottom * end,
            quad[3] + bottom * start,
        ],
        dtype=np.float32,
    )
