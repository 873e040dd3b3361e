"""The service's add-on features that `prebuilt-read` and `prebuilt-layout` honour on request:
`languages` (language identification over `content`) and `barcodes` (barcodes on each page).

Why a package of their own: both run after, and independently of, the text models; the
pipelines only call them at two points (after each page, after the document)."""

from __future__ import annotations

ADDON_FEATURES = frozenset({"languages", "barcodes"})
"""Features both document models honour through this package."""
