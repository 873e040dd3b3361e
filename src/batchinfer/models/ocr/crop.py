"""Cut a text line out of a page as an upright, axis-aligned strip for the recognizer.

The returned "reading quad" is the page quad re-ordered so that its first edge runs along the
text as the recognizer reads it; word boxes are later placed along that edge, and a line
rotated by 90 or 180 degrees keeps correct polygons.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchinfer.models.ocr.geometry import quad_size


@dataclass
class LineCrop:
    image: np.ndarray  # H x W x 3 uint8, text left to right
    quad: np.ndarray  # (4, 2) page coordinates, first edge along the reading direction

    def rotate_180(self) -> None:
        """Turn the crop upside down (angle classifier said so) and keep the quad in step."""
        self.image = np.ascontiguousarray(self.image[::-1, ::-1])
        self.quad = np.roll(self.quad, -2, axis=0)


def crop_line(page: np.ndarray, quad: np.ndarray, vertical_ratio: float = 1.5) -> LineCrop:
    """Perspective-warp the quad to a rectangle; tall strips are turned 90° counter-clockwise."""
    width, height = quad_size(quad)
    width_px, height_px = max(1, int(round(width))), max(1, int(round(height)))
    target = np.array(
        [[0, 0], [width_px, 0], [width_px, height_px], [0, height_px]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    image = cv2.warpPerspective(
        page, matrix, (width_px, height_px), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    reading = quad.astype(np.float32).copy()
    if height_px / width_px >= vertical_ratio:
        # np.rot90 turns counter-clockwise: the old top-right corner becomes the top-left.
        image = np.ascontiguousarray(np.rot90(image))
        reading = np.roll(reading, -1, axis=0)
    return LineCrop(image=image, quad=reading)
