"""A bounded sweep of malformed requests over every route: none may answer 5xx.

Every HTTP route of the app (both API dialects, health) and of the host (durable management
webhooks, admin status, the RPC channel) gets the same families of bad input: odd path ids,
broken and hostile bodies, bad query values and undecodable or misleading headers. A real
document job and a real model exist, so the ids also reach the deeper code paths.
"""

from __future__ import annotations

import itertools
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

pytestmark = pytest.mark.reliability

API_VERSION = "api-version=2024-11-30"
DI = "/api/documentintelligence/documentModels"
AD = "/api/anomalydetector/v1.1/multivariate"
WEBHOOKS = "/runtime/webhooks/durabletask"

BAD_IDS = [
    "x",
    "%00",
    "%ff%fe",
    "a" * 600,
    "..",
    "%2e%2e%2f%2e%2e",
    "%C3%A9t%C3%A9",
    "00000000-0000-0000-0000-000000000000",
    "%22%3E%3Cscript%3E",
]
BAD_BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"1e999",
    b"\xff\xfe\xfd",
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'{"azureBlobSource": {"containerUrl": "file:"}, "resultContainerUrl": "file:"}',
    b'{"azureBlobSource": {"containerUrl": 5}, "resultContainerUrl": []}',
    b'{"azureBlobSource": {"containerUrl": "http://127.0.0.1:22/devstoreaccount1/cont"},'
    b' "resultContainerUrl": "http://169.254.169.254/latest"}',
    b'{"dataSource": "file:", "startTime": "x", "endTime": "y", "slidingWindow": -1}',
    b'{"dataSource": "file:///etc/passwd", "startTime": "2021-01-01T00:00:00Z",'
    b' "endTime": "2021-01-01T00:00:00Z", "slidingWindow": 1e308}',
    b'{"variables": [{"variable": "a", "timestamps": ["x"], "values": ["NaN"]}],'
    b' "topContributorCount": -5}',
    b'{"variables": "none", "topContributorCount": "3"}',
    b'{"x": "' + b"y" * 200_000 + b'"}',
]
BAD_QUERIES = [
    "",
    "api-version=",
    "api-version=2024-11-30&skip=-1",
    f"{API_VERSION}&skip=abc",
    f"{API_VERSION}&skip=99999999999999999999999",
    "top=0",
    "top=-3",
    "top=1e9",
    "skip=%ff&top=%00",
    "createdTimeFrom=yesterday",
    "timeout=abc&showInput=maybe",
    "runtimeStatus=%ff",
    "instanceIdPrefix=" + "z" * 500,
]
BAD_HEADERS: list[dict[str, bytes]] = [
    {"Content-Encoding": b"gzip"},
    {"Content-Encoding": b"br"},
    {"Content-Type": b"text/plain; charset=\xff"},
    {"Repeatability-Request-ID": b"\xff\xfe"},
    {"Repeatability-Request-ID": b"r" * 1000},
    {"Ocp-Apim-Subscription-Key": b"\xff"},
    {"x-functions-key": b"\xfe"},
    {"x-ms-continuation-token": b"%%%notbase64"},
    {"x-ms-continuation-token": b"WyJhIl0="},
]


def DOCUMENTED_501(method: str, path: str) -> bool:  # reads as a constant rule
    """Rewind and entity deletion answer 501 by design (README, funchost section)."""
    entity = path.startswith(f"{WEBHOOKS}/entities") and method == "DELETE"
    return (entity and "/key" not in path) or "/rewind" in path


@dataclass(frozen=True)
class Route:
    template: str  # {id} is replaced by an id
    methods: tuple[str, ...]


@dataclass
class Target:
    host: HostProcess
    result_id: str
    model_id: str
    admin: str


def _routes(target: Target) -> list[tuple[Route, str]]:
    """Each route with its real id (so bad input reaches the code past the lookups)."""
    rid, mid = target.result_id, target.model_id
    return [
        (Route(f"{DI}/prebuilt-read:analyzeBatch", ("POST",)), ""),
        (Route(f"{DI}/{{id}}:analyzeBatch", ("POST",)), "prebuilt-read"),
        (Route(f"{DI}/prebuilt-read/analyzeBatchResults", ("GET",)), ""),
        (Route(f"{DI}/prebuilt-read/analyzeBatchResults/{{id}}", ("GET", "DELETE")), rid),
        (Route(f"{DI}/prebuilt-read/analyzeBatchResults/{{id}}:cancel", ("POST",)), rid),
        (Route(f"{AD}/models", ("POST", "GET")), ""),
        (Route(f"{AD}/models/{{id}}", ("GET",)), mid),
        (Route(f"{AD}/models/{{id}}:detect-batch", ("POST",)), mid),
        (Route(f"{AD}/models/{{id}}:detect-last", ("POST",)), mid),
        (Route(f"{AD}/detect-batch/{{id}}", ("GET",)), "00000000-0000-0000-0000-000000000001"),
        (Route("/api/health", ("GET",)), ""),
        (Route(f"{WEBHOOKS}/instances", ("GET", "DELETE")), ""),
        (Route(f"{WEBHOOKS}/instances/{{id}}", ("GET",)), f"docbatch:prebuilt-read:{rid}"),
        (Route(f"{WEBHOOKS}/instances/{{id}}/raiseEvent/ev", ("POST",)), "nope"),
        (Route(f"{WEBHOOKS}/instances/{{id}}/suspend", ("POST",)), "nope"),
        (Route(f"{WEBHOOKS}/orchestrators/{{id}}", ("POST",)), "batch_shard"),
        (Route(f"{WEBHOOKS}/entities/{{id}}/key", ("GET", "POST")), "counter"),
        (Route("/admin/host/status", ("GET",)), ""),
        (Route("/durabletask/instances", ("GET",)), ""),
    ]


def _raw_request(
    host: HostProcess, method: str, path: str, headers: dict[str, bytes], body: bytes
) -> int:
    """Send bytes as they are (requests would refuse undecodable headers); the status code."""
    head = [
        f"{method} {path} HTTP/1.1".encode(),
        b"Host: 127.0.0.1",
        b"Connection: close",
        f"Content-Length: {len(body)}".encode(),
    ]
    head += [k.encode() + b": " + v for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", host.port), timeout=60) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        answer = sock.recv(64)
    return int(answer.split(b" ", 2)[1]) if answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) else 0


def _cases(target: Target) -> Iterator[tuple[str, str, dict[str, bytes], bytes]]:
    key = {"x-functions-key": target.admin.encode()}
    for route, good_id in _routes(target):
        wrong = "PUT" if "PUT" not in route.methods else "PATCH"
        for method in (*route.methods, wrong):
            ids = [*BAD_IDS, good_id] if "{id}" in route.template else [good_id]
            for bad_id in ids:
                path = route.template.replace("{id}", bad_id)
                yield method, f"{path}?{API_VERSION}", key, b'{"a": 1}'
            path = route.template.replace("{id}", good_id)
            for query in BAD_QUERIES:
                yield method, f"{path}?{query}", key, b""
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                for body in BAD_BODIES:
                    yield (
                        method,
                        f"{path}?{API_VERSION}",
                        {**key, "Content-Type": b"application/json"},
                        body,
                    )
            for headers in BAD_HEADERS:
                yield method, f"{path}?{API_VERSION}", {**key, **headers}, b'{"a": 1}'


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    from batchinfer.models.mvad.series import format_timestamps
    from batchinfer.models.mvad.synthetic import make_correlated_series, to_one_table_csv

    root = tmp_path_factory.mktemp("sweep")
    docs = root / "storage" / "docs"
    docs.mkdir(parents=True)
    (docs / "a.txt").write_text("not a document")
    series = make_correlated_series(600, 3, seed=3)
    stamps = format_timestamps(series.timestamps)
    (root / "storage" / "series.csv").write_text(to_one_table_csv(series))
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={"BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING"},
    )
    host.start()
    try:
        job = requests.post(
            f"{host.base_url}{DI}/prebuilt-read:analyzeBatch?{API_VERSION}",
            json={
                "azureBlobSource": {"containerUrl": docs.as_uri()},
                "resultContainerUrl": docs.as_uri(),
            },
            timeout=60,
        )
        assert job.status_code == 202, job.text
        result_id = job.headers["Operation-Location"].split("/")[-1].split("?")[0]
        model = requests.post(
            f"{host.base_url}{AD}/models",
            timeout=60,
            json={
                "dataSource": (root / "storage" / "series.csv").as_uri(),
                "dataSchema": "OneTable",
                "startTime": stamps[0],
                "endTime": stamps[-1],
                "slidingWindow": 30,
            },
        )
        assert model.status_code == 201, model.text
        model_id = model.json()["modelId"]
        deadline = time.monotonic() + 120
        while requests.get(f"{host.base_url}{AD}/models/{model_id}", timeout=30).json()[
            "modelInfo"
        ]["status"] not in ("READY", "FAILED"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield Target(host, result_id, model_id, host.admin_key)
    finally:
        assert host.stop() == 0, host.log()[-3000:]


def test_no_malformed_request_gets_a_5xx(target: Target) -> None:
    failures: list[str] = []
    sent = 0
    for method, path, headers, body in _cases(target):
        status = _raw_request(target.host, method, path, headers, body)
        sent += 1
        if status == 501 and DOCUMENTED_501(method, path):
            continue  # the embedded host's documented "not supported" answers
        if status == 0 or status >= 500:
            failures.append(f"{status} {method} {path[:120]} {list(headers)} {body[:60]!r}")
    assert sent > 1000
    assert failures == [], "\n".join(failures[:40])
    unexplained = _host_tracebacks(target.host.log())
    assert unexplained == [], "\n\n".join(unexplained[:5])


RECORD_START = re.compile(r"^\[\d{4}-\d\d-\d\d ", re.MULTILINE)
FUNCTION_FAILURE = re.compile(
    r"^\[[^\]]+\] ERROR funchost\.(durable: Orchestration '\w+' \(\S+\) failed"
    r"|invocations: Executed 'Functions\.\w+' \(Failed)"
)


def _host_tracebacks(log: str) -> list[str]:
    """Log records with a traceback that are not a function's own logged failure.

    An internal orchestrator started with junk input through the (keyed) management API fails
    inside the app's code, and the host logs that failure at ERROR with the function's own
    traceback, as the Functions host does; any other traceback is a host defect.
    """
    starts = [m.start() for m in RECORD_START.finditer(log)] + [len(log)]
    records = [log[a:b] for a, b in itertools.pairwise(starts)]
    return [r for r in records if "Traceback" in r and not FUNCTION_FAILURE.match(r)]
