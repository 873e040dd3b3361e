"""Character error rate: how we state OCR quality with a number a reader can check."""

from __future__ import annotations


def normalize_whitespace(text: str) -> str:
    """Collapse every whitespace run (spaces, newlines) to one space and trim the ends, so line
    breaks versus spaces do not count as recognition errors."""
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions).

    Bit-parallel (Myers/Hyyrö): one column of the DP table is a pair of bit vectors held in
    Python integers, so a page against a page (3,000 × 3,000 characters) takes milliseconds
    instead of the seconds the cell-by-cell table needs; the result is the same number.
    """
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    masks: dict[str, int] = {}
    for i, char in enumerate(b):
        masks[char] = masks.get(char, 0) | (1 << i)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    plus, minus, score = full, 0, m  # vertical +1 / -1 deltas of the current column
    for char in a:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hplus = minus | ~(xh | plus)
        hminus = plus & xh
        if hplus & last:
            score += 1
        elif hminus & last:
            score -= 1
        hplus = (hplus << 1) | 1
        hminus <<= 1
        plus = (hminus | ~(xv | hplus)) & full
        minus = hplus & xv & full
    return score


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / reference length, after whitespace normalisation.

    Can exceed 1.0 when the hypothesis has many extra characters. An empty reference gives 0.0
    for an empty hypothesis and 1.0 otherwise.
    """
    ref, hyp = normalize_whitespace(reference), normalize_whitespace(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)
