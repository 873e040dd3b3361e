"""The edit distance behind every CER figure: the fast form equals the textbook table."""

from __future__ import annotations

import random

from batchinfer.models.ocr.metrics import character_error_rate, levenshtein


def _table(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_bit_parallel_distance_equals_the_dp_table() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("ab c’") for _ in range(rng.randint(0, 40)))
        b = "".join(rng.choice("abd c") for _ in range(rng.randint(0, 90)))
        assert levenshtein(a, b) == _table(a, b) == levenshtein(b, a)


def test_known_distances_and_rates() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3 and levenshtein("abc", "") == 3
    assert levenshtein("x" * 200, "x" * 199 + "y") == 1  # wider than one machine word
    assert character_error_rate("a  b\nc", "a b c") == 0.0
