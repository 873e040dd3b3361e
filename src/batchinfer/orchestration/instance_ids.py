"""Every orchestration instance id (and the job ids inside them), built and parsed here only.

Why: ids carry meaning. A listing of one model's Document Intelligence results is a prefix
query on `docbatch:<model>:`, deleting a job finds its shards by `<job>~shard~`, the retention
sweeps find detections by `mvaddetect:`, and an inbox upload's job id is derived from the blob
version so a duplicate event finds the job it already started. Building an id in one place and
parsing it in another is how such prefixes drift apart, so both directions live here.

    docbatch:<modelId>:<resultId>            batch_job of a document analysis (any entry point)
    <job instance>~shard~<shard>~<first>     batch_shard unit of that job (6-digit, zero-padded)
    inbox:<jobId>                            inbox_batch of an uploaded manifest
    mvadtrain:<modelId>                      mvad_train of an anomaly model
    mvaddetect:<resultId>                    mvad_detect of a detect-batch request
    amlbatch:<jobName>                       batch_job of an Azure ML batch endpoint invoke
"""

from __future__ import annotations

import uuid

__all__ = [
    "AZUREML_JOB_PREFIX",
    "DOCUMENT_BATCH_PREFIX",
    "MVAD_DETECT_PREFIX",
    "azureml_job_id",
    "azureml_job_name",
    "azureml_job_name_for",
    "document_batch_id",
    "document_batch_parts",
    "document_batch_prefix",
    "inbox_batch_id",
    "inbox_job_id",
    "mvad_detect_id",
    "mvad_detect_job_id",
    "mvad_detect_result_id",
    "mvad_train_id",
    "mvad_train_job_id",
    "repeatable_result_id",
    "result_id_of",
    "shard_prefix",
    "shard_unit_id",
]

DOCUMENT_BATCH_PREFIX = "docbatch:"
SHARD_SEPARATOR = "~shard~"
INBOX_BATCH_PREFIX = "inbox:"
MVAD_TRAIN_PREFIX = "mvadtrain:"
MVAD_DETECT_PREFIX = "mvaddetect:"
AZUREML_JOB_PREFIX = "amlbatch:"

INBOX_NAMESPACE = uuid.UUID("0b7cf0a4-53c5-4a43-9d0e-6f1f3c2b8e55")
REPEATABILITY_NAMESPACE = uuid.UUID("6f0c2d0e-3a4b-4f57-9a58-2b9f4f0c9d11")
AZUREML_REPEATABILITY_NAMESPACE = uuid.UUID("0b7c1f5e-5d0e-4d0c-8f53-6a0b9a9f1e21")


# --------------------------------------------------------------------------- document batches


def document_batch_id(model_id: str, result_id: str) -> str:
    """The model is in the id, so listing one model's results is a prefix query."""
    return f"{DOCUMENT_BATCH_PREFIX}{model_id}:{result_id}"


def document_batch_prefix(model_id: str | None = None) -> str:
    """`docbatch:` (every document job) or `docbatch:<model>:` (one model's)."""
    return DOCUMENT_BATCH_PREFIX if model_id is None else document_batch_id(model_id, "")


def result_id_of(instance_id: str) -> str:
    """The result (job) id of a `docbatch:` instance."""
    return instance_id.rsplit(":", 1)[-1]


def document_batch_parts(instance_id: str) -> tuple[str, str]:
    """`(modelId, resultId)` of a `docbatch:` instance (the inverse of `document_batch_id`)."""
    model_id, _, result_id = instance_id.removeprefix(DOCUMENT_BATCH_PREFIX).rpartition(":")
    return model_id, result_id


def shard_unit_id(job_instance_id: str, shard: int, first_chunk: int) -> str:
    """A `batch_shard` sub-orchestration: the job's id, its first shard and first chunk."""
    return f"{job_instance_id}{SHARD_SEPARATOR}{shard:06d}~{first_chunk:06d}"


def shard_prefix(job_instance_id: str) -> str:
    """The prefix every shard unit of a job shares."""
    return f"{job_instance_id}{SHARD_SEPARATOR}"


def repeatable_result_id(model_id: str, repeatability_id: str) -> str:
    """The result id of a retried request with the same `Repeatability-Request-ID`."""
    return str(uuid.uuid5(REPEATABILITY_NAMESPACE, f"{model_id}|{repeatability_id}"))


# -------------------------------------------------------------------------------------- inbox


def inbox_job_id(container: str, name: str, version: str) -> str:
    """The job id (a UUID, like the API's result ids) of one uploaded blob version."""
    return str(uuid.uuid5(INBOX_NAMESPACE, f"{container}/{name}\n{version}"))


def inbox_batch_id(job_id: str) -> str:
    """The `inbox_batch` instance of a manifest (its `batch_job` is a `docbatch:` id)."""
    return f"{INBOX_BATCH_PREFIX}{job_id}"


# ------------------------------------------------------------------------------------ anomaly


def mvad_train_id(model_id: str) -> str:
    return f"{MVAD_TRAIN_PREFIX}{model_id}"


def mvad_detect_id(result_id: str) -> str:
    return f"{MVAD_DETECT_PREFIX}{result_id}"


def mvad_detect_result_id(instance_id: str) -> str:
    """The detection result id of an `mvaddetect:` instance."""
    return instance_id.removeprefix(MVAD_DETECT_PREFIX)


def mvad_train_job_id(model_id: str) -> str:
    """The job-store key of a training's working state (not an instance id)."""
    return f"mvad-train-{model_id}"


def mvad_detect_job_id(result_id: str) -> str:
    """The job-store key of a detection's working state (not an instance id)."""
    return f"mvad-detect-{result_id}"


# ------------------------------------------------------------------- Azure ML batch endpoints


def azureml_job_id(name: str) -> str:
    """The `batch_job` instance of an Azure ML batch job; its name is also the job-store key."""
    return f"{AZUREML_JOB_PREFIX}{name}"


def azureml_job_name(instance_id: str) -> str:
    """The job name of an `amlbatch:` instance."""
    return instance_id.removeprefix(AZUREML_JOB_PREFIX)


def azureml_job_name_for(endpoint: str, repeatability_id: str | None) -> str:
    """A new job's name: `batchjob-<uuid>`, the same for a retried invoke of the same endpoint
    with the same `repeatability_request-id`, so the retry finds the job it made."""
    if repeatability_id:
        key = uuid.uuid5(AZUREML_REPEATABILITY_NAMESPACE, f"{endpoint}|{repeatability_id}")
        return f"batchjob-{key}"
    return f"batchjob-{uuid.uuid4()}"
