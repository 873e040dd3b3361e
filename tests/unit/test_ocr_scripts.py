"""Latin-script decoding: CJK classes masked, full-width forms folded, locale → scripts."""

from __future__ import annotations

import numpy as np
import pytest

from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import OcrPipeline
from batchinfer.models.ocr.recognize import BLANK, ScriptFilter, _mostly_cjk, Recognized, ctc_decode

CHARSET = [BLANK, "a", "中", "，", ",", "Ａ", "_", "-", "…", " "]


def _pred(*steps: dict[str, float]) -> np.ndarray:
    pred = np.full((len(steps), len(CHARSET)), 0.001, dtype=np.float32)
    for t, probs in enumerate(steps):
        for char, p in probs.items():
            pred[t, CHARSET.index(char)] = p
    return pred


def test_latin_filter_masks_cjk_and_folds_full_width() -> None:
    only = ScriptFilter.latin(CHARSET)
    allowed = {c for c, ok in zip(CHARSET, only.allowed) if ok}
    assert "中" not in allowed and {"a", "，", "Ａ", "_", "…", BLANK} <= allowed
    assert only.output[CHARSET.index("，")] == "," and only.output[CHARSET.index("Ａ")] == "A"
    assert only.output[CHARSET.index("…")] == "…"  # already Latin punctuation: kept as is


def test_masked_decoding_takes_the_best_latin_class() -> None:
    pred = _pred({"a": 0.9}, {BLANK: 0.9}, {"中": 0.6, "a": 0.3}, {"，": 0.8}, {"Ａ": 0.7})
    assert ctc_decode(pred, CHARSET, 40, 8).text == "a中，Ａ"
    latin = ctc_decode(pred, CHARSET, 40, 8, only=ScriptFilter.latin(CHARSET))
    assert latin.text == "aa,A"
    assert len(latin.positions) == len(latin.text) == len(latin.probs)


def test_auto_keeps_cjk_pages() -> None:
    assert _mostly_cjk([Recognized("中文中文 ab", 0.9)])
    assert not _mostly_cjk([Recognized("a long English line with one 中 slip", 0.9)])


@pytest.mark.parametrize(
    "locale, scripts",
    [
        (None, "auto"),
        ("en", "latin"),
        ("fr-FR", "latin"),
        ("zh-Hans", "all"),
        ("ja", "all"),
    ],
)
def test_locale_picks_the_scripts(locale: str | None, scripts: str) -> None:
    assert OcrPipeline.scripts_for(AnalyzeOptions(locale=locale)) == scripts
