"""HTTP triggers on the embedded host: route templates, methods, errors, as a client sees them."""

from __future__ import annotations

import requests

from tests.support.host import HostProcess


def test_route_parameters_and_query(sample_host: HostProcess) -> None:
    r = requests.get(f"{sample_host.base_url}/api/hello/ada?q=42", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"hello": "ada", "q": "42"}


def test_constraint_mismatch_is_a_json_404(sample_host: HostProcess) -> None:
    r = requests.get(f"{sample_host.base_url}/api/hello/ada42", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NotFound"


def test_catch_all_and_int_constraint(sample_host: HostProcess) -> None:
    r = requests.put(f"{sample_host.base_url}/api/items/7/a/b/c.txt", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"id": "7", "rest": "a/b/c.txt", "method": "PUT"}
    assert requests.get(f"{sample_host.base_url}/api/items/seven/x", timeout=10).status_code == 404


def test_method_filter_answers_405(sample_host: HostProcess) -> None:
    r = requests.delete(f"{sample_host.base_url}/api/hello/ada", timeout=10)
    assert r.status_code == 405
    assert "DELETE" in r.json()["error"]["message"]


def test_complex_segment_with_colon(sample_host: HostProcess) -> None:
    r = requests.post(
        f"{sample_host.base_url}/api/models/prebuilt-read.v2:analyze", json={"x": 1}, timeout=10
    )
    assert r.status_code == 202
    assert r.json() == {"modelId": "prebuilt-read.v2", "body": {"x": 1}}
    assert r.headers["Operation-Location"] == "x"


def test_unknown_route_outside_prefix_is_json_404(sample_host: HostProcess) -> None:
    r = requests.get(f"{sample_host.base_url}/nothing/here", timeout=10)
    assert r.status_code == 404
    assert "error" in r.json()


def test_function_exception_is_a_json_500_and_host_survives(sample_host: HostProcess) -> None:
    r = requests.get(f"{sample_host.base_url}/api/boom", timeout=10)
    assert r.status_code == 500
    assert "deliberate failure" in r.json()["error"]["message"]
    assert requests.get(f"{sample_host.base_url}/api/hello/ok", timeout=10).status_code == 200


def test_str_return_value_is_200_text(sample_host: HostProcess) -> None:
    r = requests.get(f"{sample_host.base_url}/api/secret", timeout=10)  # no keys configured
    assert r.status_code == 200
    assert r.text == "you may pass"


def test_one_log_line_per_invocation(sample_host: HostProcess) -> None:
    requests.get(f"{sample_host.base_url}/api/hello/logline", timeout=10)
    lines = [
        line for line in sample_host.log().splitlines() if "Executed 'Functions.hello'" in line
    ]
    assert lines and all("Duration=" in line and "Succeeded" in line for line in lines)
