"""Function names shared by orchestrators, activities and HTTP starters."""

BATCH_JOB = "batch_job"
BATCH_SHARD = "batch_shard"
PLAN_BATCH = "plan_batch"
RUN_INFERENCE_CHUNK = "run_inference_chunk"
FINALIZE_BATCH = "finalize_batch"
CANCEL_EVENT = "cancel"
STOPPED = "stopped"
"""The status `batch_job` hands finalize when `stop_after_failures` ended the job early: not a
`JobStatus` (finalize decides the verdict), and only kinds that set a threshold receive it."""
MVAD_TRAIN = "mvad_train"
MVAD_DETECT = "mvad_detect"
TRAIN_MVAD_MODEL = "train_mvad_model"
PREPARE_MVAD_DETECTION = "prepare_mvad_detection"
RUN_MVAD_DETECTION_CHUNK = "run_mvad_detection_chunk"
FINISH_MVAD_DETECTION = "finish_mvad_detection"
INBOX_BATCH = "inbox_batch"
PUBLISH_INBOX_REPORT = "publish_inbox_report"
WW_INGEST = "ww_ingest"
WW_TRAIN = "ww_train"
WW_INFER = "ww_infer"
WW_INGEST_VERSION = "ww_ingest_version"
WW_TRAIN_VERSION = "ww_train_version"
WW_PREPARE_INFERENCE = "ww_prepare_inference"
WW_SCORE_CHUNK = "ww_score_chunk"
WW_FINISH_INFERENCE = "ww_finish_inference"
WW_FAIL_JOB = "ww_fail_job"
PLAN_SCORING_JOB = "plan_scoring_job"
SCORE_MINI_BATCH = "score_mini_batch"
FINALIZE_SCORING_JOB = "finalize_scoring_job"
AZUREML_BATCH_SCORING = "azureml-batch-scoring"
"""`JobRef.kind` of Azure ML batch endpoint jobs; they run on `batch_job` with these steps."""
JOB_STEPS = {AZUREML_BATCH_SCORING: (PLAN_SCORING_JOB, SCORE_MINI_BATCH, FINALIZE_SCORING_JOB)}


def job_steps(kind: str) -> tuple[str, str, str]:
    """(plan, chunk, finalize) activity names of a job kind; the document steps by default."""
    return JOB_STEPS.get(kind, (PLAN_BATCH, RUN_INFERENCE_CHUNK, FINALIZE_BATCH))
