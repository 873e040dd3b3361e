"""`features=languages`: which language each stretch of `content` is written in.

Identification is py3langid (BSD-3-Clause): a naive Bayes model over byte n-grams with 140
language labels, shipped inside its 4.6 MB wheel (loaded once per process, then under a
millisecond per paragraph), with NumPy as its only dependency. lingua-language-detector is
more accurate on a few words but its wheel is 96 MB and its models take hundreds of MB of
memory; fasttext-based detectors download their model at run time, which is not allowed here.

How the result is built, after `content` is final:
1. Units: paragraphs, table cells, then any line outside both (text the model did not group).
2. Each unit with enough letters is identified on its own; a short one ("Page 3", a heading
   of one word) cannot be, so it takes the language of the text around it when its script
   agrees, and is identified on its own only when nothing around it can vouch for it.
3. Consecutive units of one language form one `DocumentLanguage`; its spans cover them,
   merged where only whitespace separates them. Offsets are code points here, converted to
   the requested `stringIndexType` with every other span in `AnalyzeResult.to_json`.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from batchinfer.models.ocr.result import AnalyzeResult, Span

MIN_LETTERS = 24
"""Below this many letters a unit's own vote is unreliable (a CJK character counts three)."""

NO_LANGUAGE = "zxx"  # py3langid's label for text without linguistic content

TRADITIONAL = (
    "們這個來說國會時對為與學後點開電經發動體見長關實現書"
    "車門問話東語樂從還應過認進區義業種樣題簡懶漢術處讓無萬"
)
SIMPLIFIED = (
    "们这个来说国会时对为与学后点开电经发动体见长关实现书"
    "车门问话东语乐从还应过认进区义业种样题简懒汉术处让无万"
)
"""Common characters written differently in the two Chinese scripts (pairs, same order)."""


@dataclass(frozen=True)
class Unit:
    """A stretch of `content` identified as a whole."""

    offset: int
    length: int
    text: str


@dataclass
class Vote:
    unit: Unit
    script: str  # "latin", "cyrillic", "cjk", ... ("" when the unit has no letters)
    letters: int
    locale: str | None = None
    confidence: float = 0.0
    strong: bool = False  # identified on its own, with enough letters


@dataclass
class Run:
    locale: str
    votes: list[Vote] = field(default_factory=list)


@cache
def _identifier() -> Any:
    """The model, loaded from the wheel on first use; classify() only reads it (thread-safe)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _script(char: str) -> str:
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "cjk"  # kana, hangul
    name = unicodedata.name(char, "")
    if name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL")):
        return "cjk"
    return name.split(" ", 1)[0].lower()  # LATIN, CYRILLIC, GREEK, ARABIC, HEBREW, ...


def script_and_letters(text: str) -> tuple[str, int]:
    """The dominant script of `text` and its weighted letter count."""
    counts: dict[str, int] = {}
    for char in text:
        if char.isalpha():
            script = _script(char)
            counts[script] = counts.get(script, 0) + (3 if script == "cjk" else 1)
    if not counts:
        return "", 0
    script = max(counts, key=lambda s: counts[s])
    return script, sum(counts.values())


def service_locale(code: str, text: str) -> str:
    """py3langid's ISO 639 code → the tag the service writes (`zh-Hans`, `sr-Cyrl`, ...)."""
    if code == "zh":
        traditional = sum(text.count(c) for c in TRADITIONAL)
        simplified = sum(text.count(c) for c in SIMPLIFIED)
        return "zh-Hant" if traditional > simplified else "zh-Hans"
    if code == "sr":
        cyrillic = sum(1 for c in text if c.isalpha() and _script(c) == "cyrillic")
        return "sr-Cyrl" if 2 * cyrillic >= sum(1 for c in text if c.isalpha()) else "sr-Latn"
    return code


def identify(text: str) -> tuple[str | None, float]:
    """(locale, confidence) of one stretch of text; None when it carries no language."""
    code, confidence = _identifier().classify(text)
    if code == NO_LANGUAGE:
        return None, 0.0
    return service_locale(str(code), text), float(confidence)


def _spans_of(result: AnalyzeResult) -> Iterable[Span]:
    for paragraph in result.paragraphs or []:
        yield from paragraph.spans
    for table in result.tables or []:
        for cell in table.cells:
            yield from cell.spans


def text_units(result: AnalyzeResult) -> list[Unit]:
    """Paragraphs, table cells and stray lines, in content order, none overlapping."""
    grouped = sorted((s.offset, s.offset + s.length) for s in _spans_of(result) if s.length)
    starts = [a for a, _ in grouped]
    reach: list[int] = []  # furthest end among grouped spans starting at or before each one
    for _, end in grouped:
        reach.append(max(end, reach[-1]) if reach else end)
    spans = list(grouped)
    for page in result.pages:
        for line in page.lines:
            for span in line.spans:
                i = bisect_right(starts, span.offset) - 1
                if span.length and (i < 0 or reach[i] < span.offset + span.length):
                    spans.append((span.offset, span.offset + span.length))
    units: list[Unit] = []
    end = -1
    for start, stop in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start >= end:  # contained or overlapping spans were already counted
            units.append(Unit(start, stop - start, result.content[start:stop]))
            end = stop
    return units


def _vote(unit: Unit) -> Vote:
    script, letters = script_and_letters(unit.text)
    vote = Vote(unit, script, letters)
    if letters >= MIN_LETTERS:
        vote.locale, vote.confidence = identify(unit.text)
        vote.strong = vote.locale is not None
    return vote


def _neighbour(votes: list[Vote], index: int, step: int, script: str) -> str | None:
    """The locale of the nearest strong vote in one direction, if its script agrees."""
    i = index + step
    while 0 <= i < len(votes):
        other = votes[i]
        if other.strong:
            return other.locale if not script or other.script == script else None
        i += step
    return None


def _likelier(text: str, candidates: list[str]) -> str:
    """Of two neighbouring locales, the one the model finds likelier for this short text."""
    scores = dict(_identifier().rank(text))
    return max(candidates, key=lambda locale: scores.get(locale.split("-")[0], 0.0))


def assign_locales(votes: list[Vote]) -> None:
    """Give short units the language around them (the likelier of the two when the text
    before and after differ: a heading belongs to what follows, a page number to what came
    before); identify them alone only when nothing around them shares their script."""
    for index, vote in enumerate(votes):
        if vote.strong:
            continue
        before = _neighbour(votes, index, -1, vote.script)
        after = _neighbour(votes, index, 1, vote.script)
        around = [locale for locale in (before, after) if locale is not None]
        if len(set(around)) == 2 and vote.letters:
            vote.locale = _likelier(vote.unit.text, around)
        elif around:
            vote.locale = around[0]
        elif vote.letters:
            vote.locale, vote.confidence = identify(vote.unit.text)


def _merged_spans(content: str, votes: list[Vote]) -> list[dict[str, int]]:
    spans: list[list[int]] = []
    for vote in votes:
        start, end = vote.unit.offset, vote.unit.offset + vote.unit.length
        if spans and not content[spans[-1][1] : start].strip():
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [{"offset": a, "length": b - a} for a, b in spans]


def _confidence(votes: list[Vote]) -> float:
    scored = [v for v in votes if v.strong] or [v for v in votes if v.confidence > 0]
    weight = sum(max(v.letters, 1) for v in scored)
    if not weight:
        return 0.0
    return round(sum(v.confidence * max(v.letters, 1) for v in scored) / weight, 3)


def detect_languages(result: AnalyzeResult) -> list[dict[str, Any]]:
    """The result's `languages`: one entry per run of consecutive units in one language."""
    votes = [_vote(unit) for unit in text_units(result)]
    assign_locales(votes)
    runs: list[Run] = []
    for vote in votes:
        if vote.locale is None:
            continue  # no letters and nothing around it: numbers-only documents, say
        if not runs or runs[-1].locale != vote.locale:
            runs.append(Run(vote.locale))
        runs[-1].votes.append(vote)
    return [
        {
            "locale": run.locale,
            "spans": _merged_spans(result.content, run.votes),
            "confidence": _confidence(run.votes),
        }
        for run in runs
    ]
