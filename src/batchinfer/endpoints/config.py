"""What a batch scoring job needs from its deployment, as one frozen snapshot.

Why a snapshot: a deployment may be updated (or deleted) while one of its jobs runs; Azure ML
jobs keep the settings they were started with, so the invoke copies them into the job's spec
(`ScoringConfig.to_json`) and activities never read the deployment again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

OutputAction = Literal["AppendRow", "SummaryOnly"]
DEFAULT_OUTPUT_FILE = "predictions.csv"
DEFAULT_MINI_BATCH = 10
DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_ERROR_THRESHOLD = -1

_DURATION = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


def parse_timeout(value: Any) -> float:
    """Seconds from an ISO-8601 duration (`PT30S`, what ARM sends), `hh:mm:ss`, or a number."""
    if isinstance(value, bool):
        raise ValueError("timeout must be a duration such as PT30S")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        match = _DURATION.match(text)
        clock = _CLOCK.match(text)
        if match and any(match.groups()):
            days, hours, minutes, secs = (float(g or 0) for g in match.groups())
            seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
        elif clock:
            days, hours, minutes, secs = (float(g or 0) for g in clock.groups())
            seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"timeout {text!r} is not a duration such as PT30S") from None
    if seconds <= 0:
        raise ValueError("timeout must be positive")
    return seconds


def format_timeout(seconds: float) -> str:
    return f"PT{int(seconds)}S" if float(seconds).is_integer() else f"PT{seconds}S"


@dataclass(frozen=True)
class ScoringConfig:
    """A deployment's scoring settings after the invoke's overrides, plus its model file."""

    endpoint: str
    deployment: str
    model_id: str  # ARM id of the model version
    model_path: str  # local ONNX file (downloaded to the cache if the model lives remotely)
    task: str
    task_options: dict[str, str] = field(default_factory=dict)
    mini_batch_size: int = DEFAULT_MINI_BATCH
    error_threshold: int = DEFAULT_ERROR_THRESHOLD
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout_s: float = DEFAULT_TIMEOUT_S
    output_action: OutputAction = "AppendRow"
    output_file_name: str = DEFAULT_OUTPUT_FILE
    logging_level: str = "Info"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScoringConfig:
        return cls(**data)

    def threshold_exceeded(self, failed: int) -> bool:
        """Azure ML's rule: -1 ignores every failure, otherwise more than N failed files fail."""
        return self.error_threshold >= 0 and failed > self.error_threshold
