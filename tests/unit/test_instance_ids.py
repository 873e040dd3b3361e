"""Every instance id is built and parsed by `orchestration.instance_ids`, and round-trips."""

from __future__ import annotations

import uuid

from batchinfer.orchestration import instance_ids as ids


def test_document_batch_ids_encode_the_model_and_parse_back() -> None:
    instance = ids.document_batch_id("prebuilt-read", "0a1b")
    assert instance == "docbatch:prebuilt-read:0a1b"
    assert instance.startswith(ids.document_batch_prefix("prebuilt-read"))
    assert instance.startswith(ids.document_batch_prefix())
    assert not ids.document_batch_id("prebuilt-reader", "x").startswith(
        ids.document_batch_prefix("prebuilt-read")
    )
    assert ids.result_id_of(instance) == "0a1b"
    assert ids.document_batch_parts(instance) == ("prebuilt-read", "0a1b")


def test_shard_units_share_the_job_prefix_and_sort_in_order() -> None:
    job = ids.document_batch_id("m", "r")
    units = [ids.shard_unit_id(job, shard, first) for shard, first in [(0, 0), (0, 8), (1, 0)]]
    assert units[0] == "docbatch:m:r~shard~000000~000000"
    assert all(u.startswith(ids.shard_prefix(job)) for u in units)
    assert units == sorted(units)
    assert not units[0].startswith(ids.document_batch_prefix("m") + "r2")


def test_inbox_ids_are_deterministic_uuids() -> None:
    job = ids.inbox_job_id("inbox", "a.pdf", '"0x1"')
    assert job == ids.inbox_job_id("inbox", "a.pdf", '"0x1"') == str(uuid.UUID(job))
    assert job != ids.inbox_job_id("inbox", "a.pdf", '"0x2"')
    assert ids.inbox_batch_id(job) == f"inbox:{job}"


def test_repeatable_result_ids_depend_on_model_and_request_id() -> None:
    first = ids.repeatable_result_id("m", "req-1")
    assert first == ids.repeatable_result_id("m", "req-1") == str(uuid.UUID(first))
    assert first != ids.repeatable_result_id("m2", "req-1")
    assert first != ids.repeatable_result_id("m", "req-2")


def test_anomaly_ids() -> None:
    assert ids.mvad_train_id("abc") == "mvadtrain:abc"
    detect = ids.mvad_detect_id("r1")
    assert detect.startswith(ids.MVAD_DETECT_PREFIX)
    assert ids.mvad_detect_result_id(detect) == "r1"
    assert ids.mvad_train_job_id("abc") == "mvad-train-abc"
    assert ids.mvad_detect_job_id("r1") == "mvad-detect-r1"


def test_azureml_job_ids_round_trip_and_repeatable_names_are_stable() -> None:
    instance = ids.azureml_job_id("batchjob-1")
    assert instance == "amlbatch:batchjob-1"
    assert instance.startswith(ids.AZUREML_JOB_PREFIX)
    assert ids.azureml_job_name(instance) == "batchjob-1"
    name = ids.azureml_job_name_for("ep", "req-1")
    assert name == ids.azureml_job_name_for("ep", "req-1")
    assert name.startswith("batchjob-") and str(uuid.UUID(name.removeprefix("batchjob-")))
    assert name != ids.azureml_job_name_for("ep2", "req-1")
    assert name != ids.azureml_job_name_for("ep", "req-2")
    assert ids.azureml_job_name_for("ep", None) != ids.azureml_job_name_for("ep", None)
