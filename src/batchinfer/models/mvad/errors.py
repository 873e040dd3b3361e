"""Data errors the caller can act on, with stable codes the API passes through unchanged.

Why codes and not exception types: the MVAD v1.1 API reports problems as `{"code", "message"}`
pairs (in `summary.errors` or per timestamp), so one exception type carrying a code keeps the
translation in the API layer a one-liner. Codes reuse Anomaly Detector's names where the
reference documents one (`InsufficientHistoricalData`) or where they are the obvious spelling of
the service's wording; the rest are ours and listed in docs/mvad-model.md.
"""

from __future__ import annotations

from typing import Final

# Parsing (CSV layout, timestamps, values).
REQUIRED_HEADER_MISSING: Final = "RequiredHeaderMissing"
INVALID_DATA_SCHEMA: Final = "InvalidDataSchema"
INVALID_TIMESTAMP_FORMAT: Final = "InvalidTimestampFormat"
DUPLICATED_TIMESTAMPS: Final = "DuplicatedTimestamps"
INVALID_VALUE_FORMAT: Final = "InvalidValueFormat"
NO_VARIABLES_FOUND: Final = "NoVariablesFound"
DUPLICATED_VARIABLES: Final = "DuplicatedVariables"
# Alignment and time ranges.
INVALID_ALIGN_POLICY: Final = "InvalidAlignPolicy"
INVALID_TIME_RANGE: Final = "InvalidTimeRange"
NOT_ENOUGH_DATA: Final = "NotEnoughData"
# Model / data consistency.
VARIABLE_NOT_FOUND: Final = "VariableNotFound"
UNEXPECTED_VARIABLE: Final = "UnexpectedVariable"
INVALID_SLIDING_WINDOW: Final = "InvalidSlidingWindow"
INVALID_TOP_CONTRIBUTOR_COUNT: Final = "InvalidTopContributorCount"
# Per-timestamp result error (the reference's code).
INSUFFICIENT_HISTORICAL_DATA: Final = "InsufficientHistoricalData"


class MvadDataError(ValueError):
    """The submitted data (or a parameter about it) cannot be used; `.code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The `{"code", "message"}` object the v1.1 API puts in `errors` lists."""
        return {"code": self.code, "message": self.message}
