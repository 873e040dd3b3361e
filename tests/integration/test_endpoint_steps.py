"""Batch endpoint job steps called directly, with the real digits model and local folders.

Covers what is awkward to provoke over HTTP: transient read failures retried per
`retrySettings.maxRetries`, the per-attempt timeout, an output file that appears while the job
runs (left untouched, the job fails), and per-file failures that never stop the mini-batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from batchinfer.anomaly.model_store import ModelStore
from batchinfer.endpoints.config import ScoringConfig
from batchinfer.endpoints.digits import train_digits_onnx, write_digit_folder
from batchinfer.endpoints.steps import (
    INPUT_DISPLAY_OPTION,
    LOG_PREFIX_OPTION,
    LOG_URL_OPTION,
    OUTPUT_DISPLAY_OPTION,
    SCORING_OPTION,
    finalize_scoring_job,
    plan_scoring_job,
    score_mini_batch,
)
from batchinfer.inference.registry import ModelRegistry
from batchinfer.jobs.model import Counts, ItemStatus, JobRef, JobReport, JobSpec, JobStatus
from batchinfer.jobs.store import JobStore
from batchinfer.orchestration.names import AZUREML_BATCH_SCORING, STOPPED
from batchinfer.settings import AppSettings
from batchinfer.storage import BlobStore, StorageAccessError, StorageAllowList
from batchinfer.storage.local import LocalFolderStore
from batchinfer.wiring import Services


class FlakyStore:
    """A folder whose first `failures[name]` reads of a blob fail like a dropped connection."""

    def __init__(self, inner: BlobStore, failures: dict[str, int]) -> None:
        self._inner = inner
        self.failures = dict(failures)
        self.reads: dict[str, int] = {}

    def read_blob(self, *, name: str, max_bytes: int | None = None) -> bytes:
        self.reads[name] = self.reads.get(name, 0) + 1
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            raise StorageAccessError(f"reading {name!r} failed (connection reset)")
        return self._inner.read_blob(name=name, max_bytes=max_bytes)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


@dataclass
class FlakyServices(Services):
    flaky: dict[str, FlakyStore] = field(default_factory=dict)

    def open_container(self, url: str) -> BlobStore:
        return self.flaky.get(url) or super().open_container(url)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "digits.onnx"
    path.write_bytes(train_digits_onnx())
    return path


@dataclass
class Env:
    services: FlakyServices
    root: Path
    model: Path

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def job(self, name: str, **config: Any) -> JobRef:
        scoring = ScoringConfig(
            endpoint="ep",
            deployment="d",
            model_id="m",
            model_path=str(self.model),
            task="image-classification",
            task_options={"pixel_max": "16"},
            **config,
        )
        spec = JobSpec(
            job_id=name,
            kind=AZUREML_BATCH_SCORING,
            model_id="ep/d",
            source_url=(self.storage / "in").as_uri(),
            source_prefix="",
            file_list=None,
            result_url=(self.storage / "out").as_uri(),
            result_prefix=f"{name}/predictions.csv",
            overwrite=False,
            created="now",
            options={
                SCORING_OPTION: scoring.to_json(),
                LOG_URL_OPTION: self.storage.as_uri(),
                LOG_PREFIX_OPTION: f"logs/{name}/",
                INPUT_DISPLAY_OPTION: "in",
                OUTPUT_DISPLAY_OPTION: "out",
            },
        )
        self.services.job_store.save_spec(spec)
        return JobRef(job_id=name, kind=AZUREML_BATCH_SCORING, model_id="ep/d")

    def flaky(self, failures: dict[str, int]) -> FlakyStore:
        url = (self.storage / "in").as_uri()
        store = FlakyStore(LocalFolderStore(self.storage / "in"), failures)
        self.services.flaky[url] = store
        return store

    def run(self, ref: JobRef) -> tuple[Counts, JobReport]:
        plan = plan_scoring_job(self.services, ref)
        if plan.error:
            done = finalize_scoring_job(self.services, ref, JobStatus.FAILED, plan.error)
        else:
            for shard in range(plan.shards):
                for chunk in range(plan.chunks_in_shard(shard)):
                    score_mini_batch(self.services, ref, shard, chunk)
            done = finalize_scoring_job(self.services, ref, JobStatus.SUCCEEDED, None)
        report = self.services.job_store.load_report(ref.job_id)
        assert report == done  # the stored report is the one finalize returned
        return done.counts, done


@pytest.fixture
def env(tmp_path: Path, model_file: Path) -> Iterator[Env]:
    settings = AppSettings.from_env({"BATCHINFER_DATA_ROOT": str(tmp_path)})
    services = FlakyServices(
        settings=settings,
        policy=StorageAllowList(local_roots=[tmp_path / "storage"]),
        job_store=JobStore(LocalFolderStore(tmp_path / "jobs")),
        registry=ModelRegistry([]),
        models=ModelStore(LocalFolderStore(tmp_path / "models"), tmp_path / "cache"),
    )
    write_digit_folder(tmp_path / "storage" / "in", 12)
    (tmp_path / "storage" / "out").mkdir(parents=True)
    yield Env(services, tmp_path, model_file)


def test_a_transient_read_failure_is_retried_within_max_retries(env: Env) -> None:
    flaky = env.flaky({"digit-00003.png": 2})
    counts, report = env.run(env.job("retried", max_retries=2, mini_batch_size=5))
    assert report.status == JobStatus.SUCCEEDED and not report.details
    assert counts.succeeded == 12 and counts.failed == 0
    assert flaky.reads["digit-00003.png"] == 3
    assert flaky.reads["digit-00004.png"] == 1  # the batch's good files are not read again
    rows = (env.storage / "out" / "retried" / "predictions.csv").read_text().splitlines()
    assert len(rows) == 12


def test_a_file_still_failing_after_its_retries_fails_alone(env: Env) -> None:
    env.flaky({"digit-00003.png": 5})
    counts, report = env.run(env.job("exhausted", max_retries=1, mini_batch_size=5))
    assert report.status == JobStatus.SUCCEEDED  # errorThreshold -1: failures are tolerated
    assert counts.failed == 1 and counts.succeeded == 11
    [failure] = report.details
    assert failure.status == ItemStatus.FAILED and failure.error is not None
    assert failure.source_url == "digit-00003.png"
    assert failure.error.code == "StorageError"
    assert "after 2 attempts" in failure.error.message
    log = (env.storage / "logs" / "exhausted" / "job_result.txt").read_text()
    assert "failed file: digit-00003.png: StorageError" in log


def test_a_mini_batch_past_its_timeout_fails_with_timeout(env: Env) -> None:
    counts, report = env.run(env.job("slow", max_retries=1, timeout_s=1e-9, error_threshold=0))
    assert report.status == JobStatus.FAILED
    assert report.error is not None and report.error.code == "ErrorThresholdExceeded"
    assert counts.failed == 12
    assert {d.error.code for d in report.details if d.error} == {"Timeout"}
    assert len(report.details) == 12
    assert not (env.storage / "out" / "slow" / "predictions.csv").exists()


def test_an_output_that_appears_while_the_job_runs_is_left_untouched(env: Env) -> None:
    ref = env.job("raced")
    plan = plan_scoring_job(env.services, ref)
    assert plan.error is None
    for chunk in range(plan.chunks_in_shard(0)):
        score_mini_batch(env.services, ref, 0, chunk)
    target = env.storage / "out" / "raced" / "predictions.csv"
    target.parent.mkdir(parents=True)
    target.write_text("someone else's\n")
    done = finalize_scoring_job(env.services, ref, JobStatus.SUCCEEDED, None)
    assert done.status == JobStatus.FAILED
    report = env.services.job_store.load_report("raced")
    assert report is not None and report.error is not None
    assert report.error.code == "OutputExists"
    assert target.read_text() == "someone else's\n"


def test_an_existing_output_fails_the_plan_before_any_scoring(env: Env) -> None:
    target = env.storage / "out" / "early" / "predictions.csv"
    target.parent.mkdir(parents=True)
    target.write_text("keep\n")
    counts, report = env.run(env.job("early"))
    assert report.status == JobStatus.FAILED
    assert report.error is not None and report.error.code == "OutputExists"
    assert counts.done == 0
    assert target.read_text() == "keep\n"


def test_an_empty_input_folder_fails_clearly(env: Env) -> None:
    for png in (env.storage / "in").iterdir():
        png.unlink()
    _, report = env.run(env.job("empty"))
    assert report.status == JobStatus.FAILED
    assert report.error is not None and report.error.code == "NoInputFiles"


def test_tabular_task_scores_every_csv_row_and_fails_bad_files_alone(tmp_path: Path) -> None:
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from batchinfer.endpoints.tasks import TABULAR, ScoreError, TaskCache
    from batchinfer.inference.runtime import SessionCache

    features, labels = load_digits(return_X_y=True)
    features = features.astype(np.float32)
    model = LogisticRegression(max_iter=300).fit(features[:400] / 16, labels[:400])
    model.coef_ /= 16  # the same model on raw 0..16 features
    path = tmp_path / "tab.onnx"
    path.write_bytes(
        to_onnx(
            model, features[:1], target_opset=17, options={id(model): {"zipmap": False}}
        ).SerializeToString()
    )
    task = TaskCache(SessionCache()).get(TABULAR, str(path), {})
    header = ",".join(f"f{i}" for i in range(64))
    good = header + "\n" + "\n".join(",".join(str(v) for v in row) for row in features[1000:1020])
    results = task.score(
        [("a.csv", good.encode()), ("bad.csv", b"x,y\n1,2\n"), ("text.csv", b"a,b\nno,way\n")]
    )
    rows = results[0]
    assert not isinstance(rows, ScoreError)
    assert [r[0] for r in rows] == [str(i) for i in range(20)]
    assert [int(r[1]) for r in rows] == list(model.predict(features[1000:1020]))
    assert isinstance(results[1], ScoreError) and "64" in results[1].message
    assert isinstance(results[2], ScoreError) and results[2].code == "InvalidContent"


def test_a_job_stopped_at_its_error_threshold_reports_what_it_scored(env: Env) -> None:
    for i in range(3):
        (env.storage / "in" / f"a-broken-{i}.png").write_bytes(b"not a png")
    ref = env.job("stopped", mini_batch_size=3, error_threshold=2)
    plan = plan_scoring_job(env.services, ref)
    assert plan.chunks_in_shard(0) == 5
    first = score_mini_batch(env.services, ref, 0, 0)  # the orchestration stops after this one
    assert first.failed == 3
    done = finalize_scoring_job(env.services, ref, STOPPED, None)
    assert done.summary()["status"] == "failed" and done.summary()["failed"] == 3
    report = env.services.job_store.load_report("stopped")
    assert report is not None and report.counts.done == 3
    assert report.error is not None and report.error.code == "ErrorThresholdExceeded"
    assert "stopped early" in report.error.message
    assert not (env.storage / "out" / "stopped" / "predictions.csv").exists()


def test_a_mini_batch_runs_the_model_in_batches_of_the_images_setting(env: Env) -> None:
    """BATCHINFER_ONNX_BATCH_IMAGES cuts a mini-batch into ONNX runs; predictions are the same
    as one run per mini-batch, and a corrupt file still fails alone."""
    from dataclasses import replace

    from batchinfer.endpoints.tasks import TaskCache
    from batchinfer.inference.runtime import SessionCache

    (env.storage / "in" / "digit-00005-broken.png").write_bytes(b"not a png")
    runs: dict[str, list[int]] = {}

    class Recording:
        def __init__(self, job: str) -> None:
            self.job, self.cache = job, SessionCache()

        def get(self, model_path: Any, providers: Any = None) -> Any:
            inner, recorded = self.cache.get(model_path, providers), runs.setdefault(self.job, [])

            class Session:
                input_names, provider, metadata = inner.input_names, inner.provider, {}

                def run(self, inputs: Any) -> Any:
                    recorded.append(len(next(iter(inputs.values()))))
                    return inner.run(inputs)

            return Session()

    predictions = {}
    for job, images in (("batched", 4), ("whole", 1000)):
        env.services.settings = replace(env.services.settings, onnx_batch_images=images)
        ref = env.job(job, mini_batch_size=13)
        plan = plan_scoring_job(env.services, ref)
        assert plan.chunks_in_shard(0) == 1
        counts = score_mini_batch(env.services, ref, 0, 0, tasks=TaskCache(Recording(job)))
        assert (counts.succeeded, counts.failed) == (12, 1)
        finalize_scoring_job(env.services, ref, JobStatus.SUCCEEDED, None)
        predictions[job] = (env.storage / "out" / job / "predictions.csv").read_text()
    assert runs == {"batched": [4, 4, 4], "whole": [12]}
    assert predictions["batched"] == predictions["whole"]
    assert len(predictions["whole"].splitlines()) == 12
