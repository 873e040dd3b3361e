"""Where a job keeps its working state: spec, plan, item lists, outcomes and the report.

Orchestration histories carry only ids and counts; the bulky and the secret parts of a job live
here, in a container of their own (a local folder on the embedded host, a blob container in
Azure). Names are deterministic, so a retried activity overwrites its own output instead of
duplicating it. The spec (which holds SAS URLs) is deleted once the job has finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from batchinfer.jobs.model import ItemDetail, ItemOutcome, JobReport, JobSpec, Plan
from batchinfer.storage import BlobNotFoundError, BlobStore


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class JobStore:
    """Job state on a `BlobStore`, one virtual folder per job id."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store

    @property
    def backing_store(self) -> BlobStore:
        """Where the state lives (start-up cleanup looks for a local folder's temp files)."""
        return self._store

    # -------------------------------------------------------------------------------- spec
    def save_spec(self, spec: JobSpec) -> None:
        self._store.write_blob(
            name=f"{spec.job_id}/spec.json", data=_dump(spec.to_json()), overwrite=True
        )

    def load_spec(self, job_id: str) -> JobSpec | None:
        """The spec, or None once the job finished (its secrets are deleted then)."""
        try:
            raw = self._store.read_blob(name=f"{job_id}/spec.json")
        except BlobNotFoundError:
            return None
        return JobSpec.from_json(json.loads(raw))

    def iter_specs(self) -> Iterator[JobSpec]:
        """Every stored request still present (running jobs, and orphans to be swept)."""
        for info in self._store.list_blobs():
            job_id, _, rest = info.name.partition("/")
            if rest == "spec.json":
                try:
                    spec = self.load_spec(job_id)
                except (ValueError, TypeError, KeyError):
                    continue
                if spec is not None:
                    yield spec

    def forget_secrets(self, job_id: str) -> None:
        self._store.delete_blob(name=f"{job_id}/spec.json", missing_ok=True)

    # -------------------------------------------------------------------------------- plan
    def save_plan(self, job_id: str, plan: Plan) -> None:
        self._store.write_blob(
            name=f"{job_id}/plan.json", data=_dump(plan.to_json()), overwrite=True
        )

    def load_plan(self, job_id: str) -> Plan:
        return Plan.from_json(json.loads(self._store.read_blob(name=f"{job_id}/plan.json")))

    def save_shard_items(self, job_id: str, shard: int, names: Iterable[str]) -> None:
        data = "".join(json.dumps(n) + "\n" for n in names).encode()
        self._store.write_blob(name=f"{job_id}/items/{shard:06d}.jsonl", data=data, overwrite=True)

    def load_shard_items(self, job_id: str, shard: int) -> list[str]:
        text = self._store.read_blob(name=f"{job_id}/items/{shard:06d}.jsonl").decode()
        return [json.loads(line) for line in text.splitlines() if line]

    # ---------------------------------------------------------------------------- outcomes
    def save_outcomes(
        self, job_id: str, shard: int, chunk: int, outcomes: list[ItemOutcome]
    ) -> None:
        self._store.write_blob(
            name=f"{job_id}/outcomes/{shard:06d}-{chunk:06d}.json",
            data=_dump([o.to_json() for o in outcomes]),
            overwrite=True,
        )

    def load_outcomes(self, job_id: str, shard: int, chunk: int) -> list[ItemOutcome] | None:
        """A chunk's outcomes, or None when the chunk never recorded any."""
        try:
            raw = self._store.read_blob(name=f"{job_id}/outcomes/{shard:06d}-{chunk:06d}.json")
        except BlobNotFoundError:
            return None
        return [ItemOutcome.from_json(d) for d in json.loads(raw)]

    # ------------------------------------------------------------------------------ claims
    def save_claims(self, job_id: str, shard: int, chunk: int, claims: dict[str, bool]) -> None:
        """Record, before any result is written, which items this chunk will (re)write."""
        self._store.write_blob(
            name=f"{job_id}/claims/{shard:06d}-{chunk:06d}.json", data=_dump(claims), overwrite=True
        )

    def load_claims(self, job_id: str, shard: int, chunk: int) -> dict[str, bool] | None:
        try:
            raw = self._store.read_blob(name=f"{job_id}/claims/{shard:06d}-{chunk:06d}.json")
        except BlobNotFoundError:
            return None
        return {str(k): bool(v) for k, v in json.loads(raw).items()}

    # ------------------------------------------------------------------------------ report
    def save_report(self, job_id: str, report: JobReport) -> None:
        self._store.write_blob(
            name=f"{job_id}/report.json", data=_dump(report.to_json()), overwrite=True
        )

    def load_report(self, job_id: str) -> JobReport | None:
        try:
            return JobReport.from_json(
                json.loads(self._store.read_blob(name=f"{job_id}/report.json"))
            )
        except BlobNotFoundError:
            return None

    def save_detail_page(self, job_id: str, page: int, details: Iterable[ItemDetail]) -> None:
        """One later page of a paged report's details (`jobs.details`; page 0 is in the report)."""
        self._store.write_blob(
            name=f"{job_id}/details/{page:06d}.json",
            data=_dump([d.to_json() for d in details]),
            overwrite=True,
        )

    def load_detail_page(self, job_id: str, page: int) -> list[ItemDetail] | None:
        """A stored page of details, or None when there is no such page."""
        try:
            raw = self._store.read_blob(name=f"{job_id}/details/{page:06d}.json")
        except BlobNotFoundError:
            return None
        return [ItemDetail.from_json(d) for d in json.loads(raw)]

    # ------------------------------------------------------------------------------ cancel
    def request_cancel(self, job_id: str) -> None:
        self._store.write_blob(name=f"{job_id}/cancel", data=b"1", overwrite=True)

    def cancel_requested(self, job_id: str) -> bool:
        """True once a cancel was asked for, or once the spec is gone (finished or deleted):
        deleting a running job removes its cancel flag too, and its chunks must still stop."""
        return self._store.exists(name=f"{job_id}/cancel") or not self._store.exists(
            name=f"{job_id}/spec.json"
        )

    # ------------------------------------------------------------------------ free-form parts
    def save_document(self, job_id: str, name: str, value: Any) -> None:
        """A named JSON document of a job (requests, summaries, result pages of other APIs)."""
        self._store.write_blob(name=f"{job_id}/{name}", data=_dump(value), overwrite=True)

    def load_document(self, job_id: str, name: str) -> Any | None:
        try:
            return json.loads(self._store.read_blob(name=f"{job_id}/{name}"))
        except BlobNotFoundError:
            return None

    def save_bytes(self, job_id: str, name: str, data: bytes) -> None:
        self._store.write_blob(name=f"{job_id}/{name}", data=data, overwrite=True)

    def load_bytes(self, job_id: str, name: str) -> bytes:
        return self._store.read_blob(name=f"{job_id}/{name}")

    def delete_document(self, job_id: str, name: str) -> None:
        self._store.delete_blob(name=f"{job_id}/{name}", missing_ok=True)

    # ------------------------------------------------------------------------------ delete
    def delete_job(self, job_id: str) -> int:
        """Remove everything the job stored; returns how many blobs were deleted."""
        names = [b.name for b in self._store.list_blobs(prefix=f"{job_id}/")]
        for name in names:
            self._store.delete_blob(name=name, missing_ok=True)
        return len(names)

    def has_document(self, job_id: str, name: str) -> bool:
        """Whether a named part of a job exists (without reading it)."""
        return self._store.exists(name=f"{job_id}/{name}")
