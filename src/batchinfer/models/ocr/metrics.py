"""Character error rate: how we state OCR quality with a number a reader can check."""

from __future__ import annotations


def normalize_whitespace(text: str) -> str:
    """Collapse every whitespace run (spaces, newlines) to one space and trim the ends, so line
    breaks versus spaces do not count as recognition errors."""
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), two rows of memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / reference length, after whitespace normalisation.

    Can exceed 1.0 when the hypothesis has many extra characters. An empty reference gives 0.0
    for an empty hypothesis and 1.0 otherwise.
    """
    ref, hyp = normalize_whitespace(reference), normalize_whitespace(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)
