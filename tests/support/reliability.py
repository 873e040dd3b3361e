"""The standing reliability scenarios: SIGKILL the host at random moments while a job runs.

Shared by `tests/e2e/test_reliability.py` (CI: a few kills on small jobs) and
`bench/reliability.py` (x10 kills on a 300-item document batch and on a detect-batch). Each
scenario checks what a user relies on: the job completes, every result parses, no item is
missing or doubled, and no temp file or stored request (with its SAS) is left behind.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess
from tests.support.scale import tiny_png

DI = "/api/documentintelligence/documentModels/prebuilt-read"
AD = "/api/anomalydetector/v1.1/multivariate"
TEMP_PREFIX = ".batchinfer-tmp-"


@dataclass
class Outcome:
    """What one scenario saw: kills made, seconds each restart took, problems found."""

    kills: int = 0
    restart_seconds: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)


def _host(root: Path, **env: str) -> HostProcess:
    return HostProcess(
        REPO_ROOT,
        root / "host",
        env={"BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING", **env},
    )


def _kill_until_done(
    host: HostProcess,
    finished: Callable[[], bool],
    kills: int,
    rng: random.Random,
    outcome: Outcome,
    gap: tuple[float, float],
    timeout: float,
) -> None:
    """Kill and restart the host at random moments until `kills` are done or the job is."""
    deadline = time.monotonic() + timeout
    while outcome.kills < kills and time.monotonic() < deadline:
        time.sleep(rng.uniform(*gap))
        if _safe(finished):
            break
        _kill_and_restart(host, outcome)
    while not _safe(finished):
        if time.monotonic() > deadline:
            raise AssertionError("the job did not finish after the kills")
        time.sleep(0.3)


def _kill_and_restart(host: HostProcess, outcome: Outcome) -> None:
    host.kill()
    started = time.monotonic()
    host.start()
    outcome.restart_seconds.append(time.monotonic() - started)
    outcome.kills += 1


DETECT_PHASES = ("CREATED", "RUNNING")
DETECT_DONE = ("READY", "FAILED")


def _kill_at_phases(
    host: HostProcess,
    phase: Callable[[], str],
    wanted: tuple[str, ...],
    outcome: Outcome,
    timeout: float,
) -> None:
    """Kill once as soon as the job is seen in each `wanted` phase (or a later one), in order.

    Why: a vectorised detect-batch ends in well under a second, before a random gap would
    land, so these kills follow the job's observed progress (preparation, then scoring)
    instead; a phase passed between two polls (10 ms apart) is caught in the next one.
    """
    deadline = time.monotonic() + timeout
    for target in wanted:
        while time.monotonic() < deadline:
            try:
                seen = phase()
            except requests.RequestException:
                seen = ""
            if seen in DETECT_DONE:
                return
            if seen in DETECT_PHASES and DETECT_PHASES.index(seen) >= DETECT_PHASES.index(target):
                _kill_and_restart(host, outcome)
                break
            time.sleep(0.01)


def _safe(finished: Callable[[], bool]) -> bool:
    try:
        return finished()
    except requests.RequestException:
        return False


def leftovers(root: Path) -> list[str]:
    """Temp files anywhere under the data root, and stored requests in the job store."""
    found = [str(p) for p in root.rglob(f"{TEMP_PREFIX}*")]
    jobs = root / "jobs"
    found += [str(p) for p in jobs.glob("*/spec.json")] + [
        str(p) for p in jobs.glob("*/request.json")
    ]
    return found


# ------------------------------------------------------------------------------ documents


def document_batch(
    root: Path,
    items: int,
    kills: int,
    seed: int = 1,
    gap: tuple[float, float] = (0.5, 2.0),
    timeout: float = 900,
) -> Outcome:
    """Analyze `items` documents (every 10th corrupt) while the host is killed `kills` times."""
    rng, outcome = random.Random(seed), Outcome()
    container = root / "storage" / "reliability"
    folder = container / "in"
    folder.mkdir(parents=True)
    png = tiny_png()
    expected: dict[str, str] = {}
    for index in range(items):
        name = f"doc-{index:05d}.png"
        corrupt = index % 10 == 9
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n broken" if corrupt else png)
        expected[name] = "failed" if corrupt else "succeeded"
    host = _host(root, BATCHINFER_ITEMS_PER_ACTIVITY="2")
    host.start()
    started = time.monotonic()
    try:
        response = requests.post(
            f"{host.base_url}{DI}:analyzeBatch?api-version=2024-11-30",
            json={
                "azureBlobSource": {"containerUrl": container.as_uri(), "prefix": "in/"},
                "resultContainerUrl": container.as_uri(),
                "resultPrefix": "out/",
            },
            timeout=60,
        )
        assert response.status_code == 202, response.text
        operation = response.headers["Operation-Location"]
        last: dict[str, Any] = {}

        def finished() -> bool:
            last.update(requests.get(operation, timeout=30).json())
            return last.get("status") in ("succeeded", "failed", "canceled")

        # the first kill lands right after the job is acknowledged (its planning): a small
        # batch can end before a random gap would land, and an acknowledged job must survive
        if kills > 0 and not _safe(finished):
            _kill_and_restart(host, outcome)
        _kill_until_done(host, finished, kills, rng, outcome, gap, timeout)
        outcome.elapsed = time.monotonic() - started
        outcome.problems += _check_documents(last, expected, container)
        time.sleep(0.5)  # let the start-up sweep of the last restart finish
        outcome.problems += [f"left behind: {p}" for p in leftovers(root)]
    finally:
        host.stop()
    return outcome


def _check_documents(job: dict[str, Any], expected: dict[str, str], container: Path) -> list[str]:
    problems = []
    if job.get("status") != "succeeded":
        return [f"job ended {job.get('status')}: {job.get('error')}"]
    details = job["result"]["details"]
    seen: dict[str, int] = {}
    for detail in details:
        name = detail["sourceUrl"].rsplit("/in/", 1)[-1]
        seen[name] = seen.get(name, 0) + 1
        if detail["status"] != expected.get(name):
            problems.append(f"{name}: {detail['status']} (expected {expected.get(name)})")
        if detail["status"] == "succeeded":
            path = container / "out" / f"{name}.ocr.json"
            try:
                if json.loads(path.read_text())["modelId"] != "prebuilt-read":
                    problems.append(f"{name}: result of another model")
            except (OSError, ValueError, KeyError) as exc:
                problems.append(f"{name}: result unreadable ({type(exc).__name__})")
    problems += [f"{n}: reported {c} times" for n, c in seen.items() if c != 1]
    problems += [f"{n}: missing from the report" for n in expected if n not in seen]
    results = sorted(p.name for p in (container / "out").glob("*.ocr.json"))
    wanted = sorted(f"{n}.ocr.json" for n, s in expected.items() if s == "succeeded")
    if results != wanted:
        problems.append(f"{len(results)} result files, expected {len(wanted)}")
    counts = job["result"]
    if (counts["succeededCount"], counts["failedCount"]) != (
        len(wanted),
        len(expected) - len(wanted),
    ):
        problems.append(f"counts {counts['succeededCount']}/{counts['failedCount']} are wrong")
    return problems


# ------------------------------------------------------------------------------- detection


def detect_batch(
    root: Path,
    timestamps: int,
    kills: int,
    seed: int = 2,
    gap: tuple[float, float] = (0.3, 1.5),
    timeout: float = 900,
) -> Outcome:
    """Train a model, then run one detect-batch over `timestamps` rows while killing the host.

    The first kills land in the preparation and then in the scoring (`_kill_at_phases`), the
    rest at random gaps while the job still runs.
    """
    from batchinfer.models.mvad.series import format_timestamps
    from batchinfer.models.mvad.synthetic import make_correlated_series, to_one_table_csv

    rng, outcome = random.Random(seed), Outcome()
    series = make_correlated_series(timestamps, 4, seed=seed)
    stamps = format_timestamps(series.timestamps)
    data = root / "storage" / "mvad" / "series.csv"
    data.parent.mkdir(parents=True)
    data.write_text(to_one_table_csv(series))
    host = _host(root, BATCHINFER_MAX_DETECT_TIMESTAMPS=str(max(20_000, timestamps)))
    host.start()
    try:
        base = f"{host.base_url}{AD}"
        trained = requests.post(
            f"{base}/models",
            timeout=60,
            json={
                "dataSource": data.as_uri(),
                "dataSchema": "OneTable",
                "startTime": stamps[0],
                "endTime": stamps[min(len(stamps) - 1, 2_999)],
                "slidingWindow": 30,
            },
        )
        assert trained.status_code == 201, trained.text
        model_id = trained.json()["modelId"]
        deadline = time.monotonic() + 300
        while requests.get(f"{base}/models/{model_id}", timeout=30).json()["modelInfo"][
            "status"
        ] not in ("READY", "FAILED"):
            assert time.monotonic() < deadline, "training did not finish"
            time.sleep(0.2)
        started = time.monotonic()
        response = requests.post(
            f"{base}/models/{model_id}:detect-batch",
            timeout=60,
            json={
                "dataSource": data.as_uri(),
                "startTime": stamps[0],
                "endTime": stamps[-1],
                "topContributorCount": 3,
            },
        )
        assert response.status_code == 202, response.text
        location = response.headers["Operation-Location"]
        last: dict[str, Any] = {}

        def phase() -> str:
            last.clear()
            last.update(requests.get(location, timeout=60).json())
            return str(last["summary"]["status"])

        def finished() -> bool:
            return phase() in DETECT_DONE

        _kill_at_phases(host, phase, DETECT_PHASES[:kills], outcome, timeout)
        _kill_until_done(host, finished, kills, rng, outcome, gap, timeout)
        outcome.elapsed = time.monotonic() - started
        outcome.problems += _check_detection(last, stamps)
        time.sleep(0.5)
        outcome.problems += [f"left behind: {p}" for p in leftovers(root)]
    finally:
        host.stop()
    return outcome


def _check_detection(body: dict[str, Any], stamps: list[str]) -> list[str]:
    if body["summary"]["status"] != "READY":
        return [f"detection ended {body['summary']['status']}: {body['summary'].get('errors')}"]
    results = body["results"]
    got = [r["timestamp"] for r in results]
    problems = []
    if len(got) != len(set(got)):
        problems.append(f"{len(got) - len(set(got))} timestamps reported twice")
    missing = set(stamps) - set(got)
    if missing:
        problems.append(f"{len(missing)} timestamps missing")
    for result in results:
        value = result.get("value") or {}
        if "errors" not in result and not isinstance(value.get("isAnomaly"), bool):
            problems.append(f"{result['timestamp']}: no verdict")
            break
    return problems
