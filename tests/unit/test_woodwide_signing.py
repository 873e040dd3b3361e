"""Signed URLs: valid until they expire, bound to method, path and content type."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from batchinfer.api.woodwide.signing import signed_query, verify

KEY = b"k" * 32


def _parts(query: str) -> tuple[str, str]:
    fields = parse_qs(query)
    return fields["expires"][0], fields["sig"][0]


def test_a_signed_url_verifies_for_what_it_was_made_for() -> None:
    expires, sig = _parts(signed_query(KEY, "GET", "/woodwide/signed/results/job_1", 60))
    assert verify(KEY, "GET", "/woodwide/signed/results/job_1", expires, sig) is None
    assert "signature" in (verify(KEY, "GET", "/woodwide/signed/results/job_2", expires, sig) or "")
    assert verify(KEY, "PUT", "/woodwide/signed/results/job_1", expires, sig) is not None
    assert verify(b"x" * 32, "GET", "/woodwide/signed/results/job_1", expires, sig) is not None


def test_expired_missing_and_content_type_bound() -> None:
    expires, sig = _parts(signed_query(KEY, "PUT", "/u", -5, "text/csv"))
    assert "expired" in (verify(KEY, "PUT", "/u", expires, sig, "text/csv") or "")
    assert "not signed" in (verify(KEY, "PUT", "/u", None, None) or "")
    later = str(int(time.time()) + 600)
    good = _parts(signed_query(KEY, "PUT", "/u", 60, "text/csv"))
    assert verify(KEY, "PUT", "/u", good[0], good[1], "text/csv") is None
    assert verify(KEY, "PUT", "/u", good[0], good[1], "application/json") is not None
    assert verify(KEY, "PUT", "/u", later, good[1], "text/csv") is not None
