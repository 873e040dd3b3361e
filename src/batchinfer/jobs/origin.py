"""Where a document batch came from, kept after the job ends, without secrets.

The spec (with its SAS URLs) is deleted once a job finishes, yet the dashboard and the
"rerun failed items" extension still need to know which containers, prefixes and options the
job used. `origin.json` holds exactly that, with every URL redacted; a rerun whose containers
need a SAS must be given the URLs again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from batchinfer.jobs.model import JobSpec
from batchinfer.jobs.store import JobStore
from batchinfer.storage.urls import redact_url

ORIGIN_DOCUMENT = "origin.json"


def _redacted(url: str) -> str:
    """Operator references (`configured:*`) are not URLs and hold no secrets; keep them."""
    return url if url.startswith("configured:") else redact_url(url)


@dataclass(frozen=True)
class JobOrigin:
    """A job's request minus its secrets."""

    job_id: str
    model_id: str
    source_url: str
    source_prefix: str
    result_url: str
    result_prefix: str
    overwrite: bool
    rerun_of: str | None = None
    source_had_sas: bool = False  # then a rerun needs the URL (with a SAS) again
    result_had_sas: bool = False

    @property
    def needs_sas(self) -> bool:
        return self.source_had_sas or self.result_had_sas

    @classmethod
    def of(cls, spec: JobSpec) -> JobOrigin:
        return cls(
            job_id=spec.job_id,
            model_id=spec.model_id,
            source_url=_redacted(spec.source_url),
            source_prefix=spec.source_prefix,
            result_url=_redacted(spec.result_url),
            result_prefix=spec.result_prefix,
            overwrite=spec.overwrite,
            rerun_of=spec.options.get("rerunOf"),
            source_had_sas="?" in spec.source_url,
            result_had_sas="?" in spec.result_url,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobOrigin:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


def save_origin(store: JobStore, spec: JobSpec) -> None:
    store.save_document(spec.job_id, ORIGIN_DOCUMENT, JobOrigin.of(spec).to_json())


def load_origin(store: JobStore, job_id: str) -> JobOrigin | None:
    data = store.load_document(job_id, ORIGIN_DOCUMENT)
    return JobOrigin.from_json(data) if isinstance(data, dict) else None
