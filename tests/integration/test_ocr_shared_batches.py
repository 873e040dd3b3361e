"""Recognition shared across the documents of an activity (`OcrPipeline.analyze_many`).

The rendered sample pages are read once document by document (`analyze`) and once together;
the results must be the same, the crops of different pages must really have shared model
calls, and a corrupt or unreadable document among good ones must fail alone, in the pipeline
and through the batch activity that writes results.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from batchinfer.activities import batch_steps
from batchinfer.activities.batch_steps import plan_job, run_chunk
from batchinfer.inference.registry import ModelRegistry, ModelSpec
from batchinfer.inference.runtime import InferenceSessionPort, RuntimeSettings, SessionCache
from batchinfer.jobs.model import DOCUMENT_ANALYSIS, JobRef, JobSpec
from batchinfer.models.ocr.errors import DocumentError
from batchinfer.models.ocr.pipeline import DocumentInput, OcrPipeline, OcrSettings
from batchinfer.models.ocr.recognize import RecognitionSettings
from batchinfer.samples import CORRUPT_NAME, SampleDoc, generate_sample_documents
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList
from batchinfer.wiring import build_services

GOOD = ("invoice.png", "receipt.jpg", "report.pdf")


class CountingSession:
    """Wraps the recognizer session and counts model calls and crops per call."""

    def __init__(self, inner: InferenceSessionPort) -> None:
        self.inner = inner
        self.calls: list[int] = []

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.inner.input_names

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.inner.metadata

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.calls.append(next(iter(inputs.values())).shape[0])
        return self.inner.run(inputs)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleDoc]:
    docs = generate_sample_documents(tmp_path_factory.mktemp("shared-samples"))
    return {doc.path.name: doc for doc in docs}


@pytest.fixture(scope="module")
def pipeline() -> OcrPipeline:
    # a large batch so that crops of different pages and documents can share a call
    settings = OcrSettings(recognition=RecognitionSettings(batch_size=64))
    return OcrPipeline(SessionCache(RuntimeSettings(intra_op_threads=1)), settings)


def _inputs(samples: dict[str, SampleDoc], names: tuple[str, ...]) -> list[DocumentInput]:
    return [
        DocumentInput(load=samples[n].path.read_bytes, filename=samples[n].path.name) for n in names
    ]


def _counting(pipeline: OcrPipeline) -> Callable[[], CountingSession]:
    original = pipeline.rec

    def install() -> CountingSession:
        counter = CountingSession(original)
        pipeline.rec = counter
        return counter

    return install


def test_shared_batches_give_the_per_document_results(
    pipeline: OcrPipeline, samples: dict[str, SampleDoc]
) -> None:
    install = _counting(pipeline)
    original = pipeline.rec
    try:
        alone_calls = 0
        alone = []
        for name in GOOD:
            counter = install()
            alone.append(pipeline.analyze(samples[name].path.read_bytes(), name).to_json())
            alone_calls += len(counter.calls)
        counter = install()
        together = pipeline.analyze_many(_inputs(samples, GOOD))
    finally:
        pipeline.rec = original
    assert [json.dumps(r.to_json(), sort_keys=True) for r in together] == [  # type: ignore[union-attr]
        json.dumps(r, sort_keys=True) for r in alone
    ]
    assert all(r["content"].strip() for r in alone)
    # the same crops went through fewer model calls, some holding crops of several pages
    assert sum(counter.calls) > 0 and len(counter.calls) < alone_calls


def test_a_corrupt_document_fails_alone(
    pipeline: OcrPipeline, samples: dict[str, SampleDoc]
) -> None:
    corrupt = samples[CORRUPT_NAME]

    def unreadable() -> bytes:
        raise OSError("blob went away")

    inputs = _inputs(samples, GOOD[:1])
    inputs += [DocumentInput(load=corrupt.path.read_bytes, filename=corrupt.path.name)]
    inputs += [DocumentInput(load=unreadable, filename="gone.png")]
    inputs += _inputs(samples, GOOD[1:])
    results = pipeline.analyze_many(inputs)
    assert isinstance(results[1], DocumentError)
    assert results[1].code == corrupt.expected_error
    assert isinstance(results[2], OSError)
    good = [results[0], *results[3:]]
    expected = [pipeline.analyze(samples[n].path.read_bytes(), n).to_json() for n in GOOD]
    assert [r.to_json() for r in good] == expected  # type: ignore[union-attr]


def test_an_activity_with_a_corrupt_file_fails_that_item_only(
    pipeline: OcrPipeline,
    samples: dict[str, SampleDoc],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one core: a small job is not spread over several activities (planning.spread_small_job)
    monkeypatch.setattr(batch_steps, "machine_threads", lambda: 1)
    source, results = tmp_path / "storage" / "in", tmp_path / "storage" / "out"
    source.mkdir(parents=True)
    results.mkdir(parents=True)
    names = [GOOD[0], CORRUPT_NAME, GOOD[2]]
    for name in names:
        shutil.copy(samples[name].path, source / name)
    settings = AppSettings.from_env(
        {"BATCHINFER_DATA_ROOT": str(tmp_path), "BATCHINFER_ITEMS_PER_ACTIVITY": "8"}
    )
    registry = ModelRegistry(
        [ModelSpec(id="prebuilt-read", description="", onnx_files={}, factory=lambda s: pipeline)]
    )
    services = build_services(
        settings, policy=StorageAllowList(local_roots=[tmp_path / "storage"]), registry=registry
    )
    job_id = str(uuid.uuid4())
    services.job_store.save_spec(
        JobSpec(
            job_id=job_id,
            kind=DOCUMENT_ANALYSIS,
            model_id="prebuilt-read",
            source_url=source.as_uri(),
            source_prefix="",
            file_list=None,
            result_url=results.as_uri(),
            result_prefix="",
            overwrite=False,
            created="2024-01-01T00:00:00Z",
        )
    )
    ref = JobRef(job_id=job_id, kind=DOCUMENT_ANALYSIS, model_id="prebuilt-read")
    plan = plan_job(services, ref)
    assert plan.chunks_in_shard(0) == 1  # all three items in one activity
    counts = run_chunk(services, ref, 0, 0)
    assert (counts.succeeded, counts.failed) == (2, 1)
    outcomes = {o.source: o for o in services.job_store.load_outcomes(job_id, 0, 0) or []}
    failed = outcomes[CORRUPT_NAME]
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == samples[CORRUPT_NAME].expected_error
    for name in (GOOD[0], GOOD[2]):
        assert outcomes[name].status == "succeeded"
        written: dict[str, Any] = json.loads((results / f"{name}.ocr.json").read_bytes())
        fresh = pipeline.analyze(samples[name].path.read_bytes(), name).to_json()
        assert written == json.loads(json.dumps(fresh))
    assert not (results / f"{CORRUPT_NAME}.ocr.json").exists()
