"""The anomaly detection steps as plain functions: train, prepare/run/finish detection, detect-last.

Each takes `Services` and ids; the activity triggers only adapt JSON. Data problems are reported
in the model record or the detection summary (`errors`, status `FAILED`), never raised out of
an activity: a retry cannot fix bad data. Requests carrying SAS URLs live in the job store only
while the work runs.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

import numpy as np

from batchinfer.anomaly.blocks import (
    FIRST_CHUNK_TIMESTAMPS,
    BlockWriter,
    block_name,
    chunk_timestamps,
    load_block,
    plan_rows,
)
from batchinfer.anomaly.columnar import NotColumnar, arrow_blocks
from batchinfer.anomaly.data_source import (
    DataLocation,
    DataSourceNotAccessible,
    check_data_source,
    iter_csv_lines,
    load_series,
    open_csv_binary,
)
from batchinfer.anomaly.status import MvadStatus
from batchinfer.anomaly.streaming import NotStreamable, csv_blocks, stream_prepare
from batchinfer.models.mvad import (
    AlignPolicy,
    MultivariateSeries,
    MvadDataError,
    prepare,
    slice_time,
    train,
)
from batchinfer.models.mvad.detect import score_chunk
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.results import ChunkScores
from batchinfer.models.mvad.series import parse_time, parse_timestamps
from batchinfer.orchestration import instance_ids
from batchinfer.storage import BlobNotFoundError, StorageError, UrlNotAllowedError
from batchinfer.wiring import Services

log = logging.getLogger("batchinfer.anomaly")

MODEL_VERSION = 1
DETECT_CHUNK_TIMESTAMPS = FIRST_CHUNK_TIMESTAMPS  # the first chunks' rows; later ones grow


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


train_job_id = instance_ids.mvad_train_job_id
detect_job_id = instance_ids.mvad_detect_job_id


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, MvadDataError):
        return exc.to_json()
    if isinstance(exc, UrlNotAllowedError):
        return {"code": "InvalidDataSource", "message": exc.message}
    if isinstance(exc, StorageError):
        return DataSourceNotAccessible.from_storage(exc).to_json()
    return {"code": "InternalServerError", "message": f"Unexpected {type(exc).__name__}."}


# ================================================================================== training
def set_model_status(
    services: Services,
    model_id: str,
    status: str,
    errors: list[dict[str, str]] | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    record = services.models.load_record(model_id)
    if record is None:
        return None
    record["lastUpdatedTime"] = now_iso()
    record["modelInfo"]["status"] = status
    if errors is not None:
        record["modelInfo"]["errors"] = errors
    if diagnostics is not None:
        record["modelInfo"]["diagnosticsInfo"] = diagnostics
    services.models.save_record(model_id, record)
    return record


def train_model(services: Services, model_id: str) -> str:
    """Load, align and train; store the model version and the READY/FAILED record."""
    job = train_job_id(model_id)
    request = services.job_store.load_document(job, "request.json")
    record = set_model_status(services, model_id, MvadStatus.RUNNING)
    if record is None or request is None:
        return MvadStatus.FAILED  # deleted meanwhile
    info = record["modelInfo"]
    try:
        location = check_data_source(request["dataSource"], services.policy)
        series = load_series(location, services.policy, info.get("dataSchema", "OneTable"))
        series = slice_time(series, info["startTime"], info["endTime"])
        policy = info.get("alignPolicy") or {}
        model = train(
            series,
            int(info.get("slidingWindow", 300)),
            AlignPolicy(
                policy.get("alignMode", "Outer"),
                policy.get("fillNAMethod", "Linear"),
                float(policy.get("paddingValue", 0.0)),
            ),
        )
        services.models.save_model(model_id, MODEL_VERSION, model)
    except Exception as exc:  # data and storage problems end the training, reported
        if not isinstance(exc, (MvadDataError, StorageError, ValueError)):
            log.exception("Training model %s failed unexpectedly", model_id)
        set_model_status(services, model_id, MvadStatus.FAILED, [_error(exc)])
        return MvadStatus.FAILED
    finally:
        services.job_store.delete_job(job)
    diagnostics = {
        "modelState": model_state(model),
        "variableStates": model.diagnostics.get("variableStates", []),
    }
    if set_model_status(services, model_id, MvadStatus.READY, [], diagnostics) is None:
        services.models.delete(model_id)  # deleted while training: drop the files just written
        return MvadStatus.FAILED
    return MvadStatus.READY


def model_state(model: TrainedModel) -> dict[str, list[Any]]:
    """`diagnosticsInfo.modelState` from what training did: one epoch per ridge candidate.

    Training fits every λ of the grid in closed form on the first 80 % of windows and
    validates it on the held-out rest; epoch k is candidate k, with its mean squared residual
    on the fit windows (train loss) and on the held-out windows (validation loss), and the
    seconds its fit and validation took (passes every candidate shares split evenly).
    """
    grid_train = model.diagnostics.get("ridgeGridTrainMse", {})
    grid_valid = model.diagnostics.get("ridgeGridHeldOutMse", {})
    keys = list(grid_valid)
    seconds = model.training_seconds or [0.0] * len(keys)
    return {
        "epochIds": list(range(1, len(keys) + 1)),
        "trainLosses": [float(grid_train.get(k, grid_valid[k])) for k in keys],
        "validationLosses": [float(grid_valid[k]) for k in keys],
        "latenciesInSeconds": [round(float(x), 4) for x in seconds],
    }


# ================================================================================= detection
def load_summary(services: Services, result_id: str) -> dict[str, Any]:
    summary: dict[str, Any] | None = services.job_store.load_document(
        detect_job_id(result_id), "summary.json"
    )
    if summary is None:
        raise LookupError(result_id)
    return summary


def set_detection_status(
    services: Services,
    result_id: str,
    status: str,
    *,
    errors: list[dict[str, str]] | None = None,
    variable_states: list[dict[str, Any]] | None = None,
) -> None:
    job = detect_job_id(result_id)
    summary = services.job_store.load_document(job, "summary.json") or {}
    summary["status"] = status
    if errors is not None:
        summary["errors"] = errors
    if variable_states is not None:
        summary["variableStates"] = variable_states
    services.job_store.save_document(job, "summary.json", summary)


def prepare_detection(services: Services, result_id: str) -> int:
    """Verify and align the range, store chunk blocks (each with w-1 rows of history).

    Returns the number of chunks, or 0 when the detection failed (the summary says why).
    """
    job = detect_job_id(result_id)
    request = services.job_store.load_document(job, "request.json")
    summary = load_summary(services, result_id)
    if request is None:
        return _prepared_before(services, job, summary)
    setup = summary["setupInfo"]
    try:
        record = services.models.load_record(request["modelId"])
        if record is None or record["modelInfo"]["status"] != MvadStatus.READY:
            raise MvadDataError("ModelNotReady", "The model is not ready (or was deleted).")
        model = services.models.load_model(request["modelId"], MODEL_VERSION)
        location = check_data_source(request["dataSource"], services.policy)
        schema = record["modelInfo"].get("dataSchema", "OneTable")
        chunks, states = _prepare_blocks(services, job, model, location, schema, setup)
    except Exception as exc:
        if not isinstance(exc, (MvadDataError, StorageError, ValueError, LookupError)):
            log.exception("Preparing detection %s failed unexpectedly", result_id)
        set_detection_status(services, result_id, MvadStatus.FAILED, errors=[_error(exc)])
        services.job_store.delete_document(job, "request.json")
        return 0
    services.job_store.save_document(
        job, "plan.json", {"chunks": chunks, "variables": list(model.variables)}
    )
    # setupInfo stays the request as submitted; the data's own span is in variableStates
    set_detection_status(services, result_id, MvadStatus.RUNNING, variable_states=states)
    services.job_store.delete_document(job, "request.json")
    return len(chunks)


def _prepared_before(services: Services, job: str, summary: dict[str, Any]) -> int:
    """What an earlier run of this step decided, when it finished but its completion was lost
    (a host killed after the step deleted the request): the stored plan's chunk count if it
    prepared the blocks, else 0 (it failed, and the summary says why)."""
    plan = services.job_store.load_document(job, "plan.json")
    if plan is not None and summary.get("status") == MvadStatus.RUNNING:
        return len(plan.get("chunks") or [])
    return 0


def _prepare_blocks(
    services: Services,
    job: str,
    model: TrainedModel,
    location: DataLocation,
    schema: str,
    setup: dict[str, Any],
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Write the chunk blocks; OneTable CSVs in one streaming pass, the rest in memory."""
    limit = services.settings.max_detect_timestamps
    start = parse_time(setup["startTime"], "startTime")
    end = parse_time(setup["endTime"], "endTime")
    chunks: list[dict[str, int]] = []
    writer = BlockWriter(services.job_store, job)

    def emit(index: int, block: MultivariateSeries, history_len: int) -> None:
        done = chunks[-1]["stop"] if chunks else 0
        stop = done + block.n_timestamps - history_len
        if stop > limit:
            raise _too_many(limit)
        writer.write(index, block)
        chunks.append({"start": done, "stop": stop, "historyStart": done - history_len})

    def rows_of(index: int) -> int:
        return chunk_timestamps(index, model.n_variables)

    def one_pass(columnar: bool) -> list[dict[str, Any]]:
        if columnar:
            with open_csv_binary(location, services.policy) as stream:
                return stream_prepare(
                    arrow_blocks(stream), model, start, end, rows_of, location.path, emit
                )[1]
        return stream_prepare(
            csv_blocks(iter_csv_lines(location, services.policy), location.path),
            model,
            start,
            end,
            rows_of,
            location.path,
            emit,
        )[1]

    def restart() -> None:  # blocks are written again from index 0
        writer.drain()
        chunks.clear()

    try:
        if schema.lower() == "onetable":
            try:
                try:
                    states = one_pass(columnar=True)
                except NotColumnar:  # not the plain shape: the line parser decides
                    restart()
                    states = one_pass(columnar=False)
                _check_one_window(chunks[-1]["stop"] if chunks else 0, model.sliding_window)
                writer.wait()
                return chunks, states
            except NotStreamable:
                restart()  # rows out of time order: sort them in memory instead
        series = load_series(location, services.policy, schema)
        ranged = slice_time(series, setup["startTime"], setup["endTime"])
        if ranged.n_timestamps > limit:
            raise _too_many(limit, ranged.n_timestamps)
        aligned, states = prepare(model, ranged)
        _check_one_window(aligned.n_timestamps, model.sliding_window)
        w = model.sliding_window
        for index, (lo, hi) in enumerate(plan_rows(aligned.n_timestamps, model.n_variables)):
            history = max(0, lo - (w - 1))
            writer.write(index, aligned.rows(history, hi))
            chunks.append({"start": lo, "stop": hi, "historyStart": history})
        writer.wait()
        return chunks, states
    except Exception:
        writer.discard()  # a failed (or cap-exceeding) range leaves no blocks behind
        raise


def _check_one_window(n_timestamps: int, sliding_window: int) -> None:
    """The reference requires at least one sliding window of data in the range."""
    if n_timestamps < sliding_window:
        raise MvadDataError(
            "NotEnoughData",
            f"The range holds {n_timestamps} timestamp(s) after alignment; "
            f"detection needs at least slidingWindow = {sliding_window}.",
        )


def _too_many(limit: int, count: int | None = None) -> MvadDataError:
    held = f"holds {count} timestamps" if count else "holds more timestamps than allowed"
    return MvadDataError(
        "TooManyTimestamps",
        f"The range {held}; the limit is {limit} (setting BATCHINFER_MAX_DETECT_TIMESTAMPS).",
    )


def _scores_name(index: int) -> str:
    return f"results/{index:06d}.npz"


def detect_chunk_step(services: Services, result_id: str, index: int) -> int:
    """Score one stored block and store its scores (columns, rendered on request); returns
    how many results it holds."""
    job = detect_job_id(result_id)
    try:  # a retry after the block was scored (and deleted)
        return ChunkScores.from_npz(services.job_store.load_bytes(job, _scores_name(index))).n_rows
    except BlobNotFoundError:
        pass
    plan = services.job_store.load_document(job, "plan.json")
    if plan is None:  # written before any chunk is scheduled; gone only if the job was purged
        raise LookupError(f"{job}/plan.json")
    summary = load_summary(services, result_id)
    model_id = summary["modelId"]
    model = services.models.load_model(model_id, MODEL_VERSION)
    chunk = plan["chunks"][index]
    block = load_block(services.job_store, job, index, tuple(plan["variables"]))
    scores = score_chunk(
        model,
        block,
        chunk["start"] - chunk["historyStart"],
        int(summary["setupInfo"].get("topContributorCount", 10)),
        services.settings.onnx_batch_rows,
    )
    services.job_store.save_bytes(job, _scores_name(index), scores.to_npz())
    services.job_store.delete_document(job, block_name(index))
    return scores.n_rows


def finish_detection(services: Services, result_id: str, failed_chunks: int) -> str:
    if failed_chunks:
        set_detection_status(
            services,
            result_id,
            MvadStatus.FAILED,
            errors=[
                {
                    "code": "InternalServerError",
                    "message": f"{failed_chunks} chunk(s) of the range could not be scored.",
                }
            ],
        )
        return MvadStatus.FAILED
    set_detection_status(services, result_id, MvadStatus.READY, errors=[])
    return MvadStatus.READY


def detection_results(
    services: Services, result_id: str, skip: int = 0, top: int | None = None
) -> list[dict[str, Any]]:
    """Results in time order, optionally a page of them; chunks outside the page are not read."""
    return [json.loads(text) for text in detection_results_json(services, result_id, skip, top)]


def detection_results_json(
    services: Services, result_id: str, skip: int = 0, top: int | None = None
) -> list[str]:
    """`detection_results` with each entry as JSON text (what the API sends)."""
    job = detect_job_id(result_id)
    plan = services.job_store.load_document(job, "plan.json") or {}
    stop = None if top is None else skip + top
    variables = tuple(plan.get("variables", ()))
    results: list[str] = []
    for index, chunk in enumerate(plan.get("chunks", [])):
        if chunk["stop"] <= skip:
            continue
        if stop is not None and chunk["start"] >= stop:
            break
        first = max(0, skip - chunk["start"])
        last = None if stop is None else stop - chunk["start"]
        try:
            data = services.job_store.load_bytes(job, _scores_name(index))
        except BlobNotFoundError:  # stored as JSON by an earlier version
            rows = services.job_store.load_document(job, f"results/{index:06d}.json") or []
            results.extend(json.dumps(row) for row in rows[first:last])
            continue
        results.extend(ChunkScores.from_npz(data).render_json(variables, first, last))
    return results


# =============================================================================== detect-last
def series_from_variables(variables: list[dict[str, Any]]) -> MultivariateSeries:
    """The detect-last request body as a series (timestamps parsed once when shared)."""
    names = tuple(v["variable"] for v in variables)
    if len(set(names)) != len(names):
        raise MvadDataError("DuplicatedVariables", "A variable appears more than once.")
    for item in variables:
        if len(item["timestamps"]) != len(item["values"]):
            raise MvadDataError(
                "InvalidInputFormat",
                f"Variable '{item['variable']}' has {len(item['timestamps'])} "
                f"timestamps but {len(item['values'])} values.",
            )
    first = variables[0]["timestamps"]
    if all(v["timestamps"] == first for v in variables):
        stamps = parse_timestamps(first, "timestamps")
        order = np.argsort(stamps, kind="stable")
        if np.any(np.diff(stamps[order]) == 0):
            raise MvadDataError("DuplicatedTimestamps", "Timestamps must be unique.")
        values = _finite_rows(variables).T[order]
        return MultivariateSeries(stamps[order], names, np.ascontiguousarray(values))
    # different timestamps per variable: join on their union; alignment fills the gaps
    parsed = [parse_timestamps(v["timestamps"], v["variable"]) for v in variables]
    union = np.unique(np.concatenate(parsed))
    values = np.full((len(union), len(names)), np.nan, dtype=np.float32)
    for column, (stamps, item) in enumerate(zip(parsed, variables, strict=False)):
        if len(np.unique(stamps)) != len(stamps):
            raise MvadDataError(
                "DuplicatedTimestamps", f"Variable '{item['variable']}' repeats a timestamp."
            )
        values[np.searchsorted(union, stamps), column] = _finite_values(item)
    return MultivariateSeries(union.astype(np.int64), names, values)


def _finite_rows(variables: list[dict[str, Any]]) -> np.ndarray:
    """Variables of equal length as one float32 (variables × timestamps) array, converted and
    checked in one pass; the first bad value is reported as `_finite_values` reports it."""
    wide = np.stack([np.asarray(v["values"], dtype=np.float64) for v in variables])
    with np.errstate(over="ignore", invalid="ignore"):
        values = wide.astype(np.float32)
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        _finite_values(variables[row])  # raises, naming the variable and position
    return values


def _finite_values(item: dict[str, Any]) -> np.ndarray:
    """A variable's values as float32; NaN, ±Infinity and values beyond the float32 range
    (which would become infinities) are refused, so no result can hold a non-JSON number."""
    wide = np.asarray(item["values"], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        values = wide.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise MvadDataError(
            "InvalidValueFormat",
            f"Value {float(wide[bad[0]])!r} at position {int(bad[0])} of variable "
            f"'{item['variable']}' is not a finite number within ±3.4e38.",
        )
    return values
