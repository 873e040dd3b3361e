"""detect-last latency over HTTP, and where its time goes (prints, asserts nothing).

Trains a 300-variable model (slidingWindow 300) on a fresh host with its default settings, then
posts `:detect-last` bodies of 300 variables × 300 timestamps (one window, ~4 MB of JSON) and
× 2,880 timestamps (the largest body the API takes, ~38 MB), each call a different window, and
prints p50/p99 of the round trip. In-process, it then splits one 2,880-timestamp call into its
stages: reading the body (the route's parser, and pydantic's `model_validate_json` of the
request model beside it), building the series, `detect_last`, and writing the response. The
same large body posted to an unknown model (answered 404 before it is parsed) shows what the
HTTP transport alone costs.

    .venv/bin/python bench/mvad_last.py [--calls 40] [--short-calls 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.host import HostProcess  # noqa: E402

API = "/api/anomalydetector/v1.1/multivariate"
WIDE = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


def _train(base: str, csv: Path, window: int) -> str:
    reply = requests.post(
        f"{base}{API}/models",
        json={
            "dataSource": csv.as_uri(),
            "slidingWindow": window,
            "startTime": WIDE[0],
            "endTime": WIDE[1],
        },
        timeout=60,
    )
    model_id = str(reply.json()["modelId"])
    while True:
        info = requests.get(f"{base}{API}/models/{model_id}", timeout=60).json()["modelInfo"]
        if info["status"] in ("READY", "FAILED"):
            assert info["status"] == "READY", info
            return model_id
        time.sleep(0.2)


def _body(window: Any) -> bytes:
    from batchinfer.models.mvad.series import format_timestamps

    stamps = format_timestamps(window.timestamps)
    return json.dumps(
        {
            "variables": [
                {"variable": name, "timestamps": stamps, "values": window.values[:, i].tolist()}
                for i, name in enumerate(window.variables)
            ],
            "topContributorCount": 10,
        }
    ).encode()


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  ({len(ordered)} calls)"


def _median_ms(run: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _stages(model_dir: Path, body: bytes, repeat: int) -> None:
    from batchinfer.anomaly import steps
    from batchinfer.api.anomaly_detector import routes
    from batchinfer.api.anomaly_detector.schemas import DetectLastRequest
    from batchinfer.models.mvad import TrainedModel, detect_last

    model = TrainedModel.load(model_dir)
    parse = getattr(routes, "read_last_request", None)
    pydantic_ms = _median_ms(lambda: DetectLastRequest.model_validate_json(body), repeat)
    print(f"  pydantic model_validate_json of the request model:  {pydantic_ms:7.1f} ms")
    if parse is not None:
        print(
            f"  the route's parser (read_last_request):             "
            f"{_median_ms(lambda: parse(body), repeat):7.1f} ms"
        )
        request = parse(body)
        variables = request.variables
    else:
        parsed = DetectLastRequest.model_validate_json(body)
        variables = [
            {"variable": v.variable, "timestamps": v.timestamps, "values": v.values}
            for v in parsed.variables
        ]
    series = steps.series_from_variables(variables)
    print(
        f"  series_from_variables:                              "
        f"{_median_ms(lambda: steps.series_from_variables(variables), repeat):7.1f} ms"
    )
    result = detect_last(model, series, 10)
    print(
        f"  detect_last:                                        "
        f"{_median_ms(lambda: detect_last(model, series, 10), repeat):7.1f} ms"
    )
    answer = {"variableStates": result.variable_states, "results": result.results}
    print(
        f"  response JSON:                                      "
        f"{_median_ms(lambda: json.dumps(answer), repeat):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40, help="2,880-timestamp calls")
    parser.add_argument("--short-calls", type=int, default=100, help="300-timestamp calls")
    parser.add_argument("--repeat", type=int, default=7, help="in-process repeats per stage")
    args = parser.parse_args()
    from batchinfer.models.mvad.synthetic import make_correlated_series, write_one_table_csv

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "storage" / "data"
        data.mkdir(parents=True)
        wide = make_correlated_series(20_000, 300, seed=3)
        write_one_table_csv(wide.rows(0, 10_000), str(data / "wide.csv"))
        rows = wide.rows(10_000, 20_000)
        host = HostProcess(REPO, root / "host", env={"BATCHINFER_DATA_ROOT": str(root)}).start()
        http: dict[int, tuple[list[float], int]] = {}
        try:
            model_id = _train(host.base_url, data / "wide.csv", 300)
            for length, calls in ((300, args.short_calls), (2880, args.calls)):
                samples = []
                size = 0
                for call in range(calls + 1):
                    payload = _body(rows.rows(call * 7, call * 7 + length))
                    size = len(payload)
                    started = time.perf_counter()
                    reply = requests.post(
                        f"{host.base_url}{API}/models/{model_id}:detect-last",
                        data=payload,
                        timeout=120,
                        headers={"Content-Type": "application/json"},
                    )
                    assert reply.status_code == 200, reply.text[:500]
                    if call:  # the first call warms the model's session
                        samples.append((time.perf_counter() - started) * 1000)
                http[length] = (samples, size)
            # the transport alone: the same largest body to an unknown model (404 before parsing)
            payload = _body(rows.rows(0, 2880))
            floor = []
            for _ in range(max(5, args.calls // 2)):
                started = time.perf_counter()
                reply = requests.post(
                    f"{host.base_url}{API}/models/{uuid.uuid4()}:detect-last",
                    data=payload,
                    timeout=120,
                    headers={"Content-Type": "application/json"},
                )
                assert reply.status_code == 404, reply.text[:500]
                floor.append((time.perf_counter() - started) * 1000)
        finally:
            host.stop()
        print("detect-last over HTTP, 300 variables, slidingWindow 300:")
        for length, (samples, size) in http.items():
            print(f"  {length:>4} timestamps ({size / 1e6:4.1f} MB JSON): {_percentiles(samples)}")
        print(
            f"  the 2,880-timestamp body to an unknown model (404, transport only): "
            f"{_percentiles(floor)}"
        )
        print("in-process stages of one 2,880-timestamp call (median):")
        _stages(root / "models" / "mvad" / model_id / "v1", _body(rows.rows(0, 2880)), args.repeat)


if __name__ == "__main__":
    main()
