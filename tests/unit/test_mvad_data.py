"""MVAD data layer: CSV parsing, alignment modes and fill methods, time slicing, error codes."""

from __future__ import annotations

import numpy as np
import pytest

from batchinfer.models.mvad.data import align, load_multi_table, load_one_table_csv, slice_time
from batchinfer.models.mvad.errors import MvadDataError
from batchinfer.models.mvad.series import format_timestamp

T0 = "2021-01-01T00:00:00Z"
T1 = "2021-01-01T00:01:00Z"
T2 = "2021-01-01T00:02:00Z"
T3 = "2021-01-01T00:03:00Z"

# a: missing at T1; b: missing at T0 and T3 (leading and trailing gaps).
ONE_TABLE = f"timestamp,a,b\n{T2},3,30\n{T0},1,\n{T1},,20\n{T3},4,\n"


def _codes(fn, *args, **kwargs) -> str:
    with pytest.raises(MvadDataError) as info:
        fn(*args, **kwargs)
    return info.value.code


def test_one_table_sorts_and_marks_missing() -> None:
    s = load_one_table_csv(ONE_TABLE)
    assert s.variables == ("a", "b")
    assert [format_timestamp(t) for t in s.timestamps] == [T0, T1, T2, T3]
    assert s.values.dtype == np.float32
    np.testing.assert_array_equal(
        np.isnan(s.values), [[False, True], [True, False], [False, False], [False, True]]
    )


def test_multi_table_joins_on_union_of_timestamps_with_stem_names() -> None:
    s = load_multi_table(
        {
            "folder/b.csv": f"timestamp,value\n{T1},20\n{T2},30\n",
            "folder/a.csv": f"timestamp,value\n{T0},1\n{T2},3\n",
        }
    )
    assert s.variables == ("a", "b")
    assert s.n_timestamps == 3
    np.testing.assert_array_equal(
        s.values, np.array([[1, np.nan], [np.nan, 20], [3, 30]], dtype=np.float32)
    )


@pytest.mark.parametrize(
    ("method", "a_t1", "b_col"),
    [
        ("Previous", 1.0, [20, 20, 30, 30]),  # leading gap takes the first value
        ("Subsequent", 3.0, [20, 20, 30, 30]),  # trailing gap takes the last value
        ("Linear", 2.0, [20, 20, 30, 30]),  # flat beyond the observed ends
        ("Zero", 0.0, [0, 20, 30, 0]),
        ("Fixed", -7.0, [-7, 20, 30, -7]),
    ],
)
def test_outer_fill_methods(method: str, a_t1: float, b_col: list[float]) -> None:
    aligned, states = align(load_one_table_csv(ONE_TABLE), "Outer", method, -7.0)
    assert aligned.n_timestamps == 4
    assert not np.isnan(aligned.values).any()
    assert aligned.values[1, 0] == pytest.approx(a_t1)
    np.testing.assert_allclose(aligned.values[:, 1], b_col)
    assert states[0] == {
        "variable": "a",
        "filledNARatio": 0.25,
        "effectiveCount": 3,
        "firstTimestamp": T0,
        "lastTimestamp": T3,
    }
    assert states[1] == {
        "variable": "b",
        "filledNARatio": 0.5,
        "effectiveCount": 2,
        "firstTimestamp": T1,
        "lastTimestamp": T2,
    }


def test_linear_fill_is_time_weighted() -> None:
    s = load_one_table_csv(f"timestamp,a\n{T0},0\n{T1},\n{T3},3\n")
    aligned, _ = align(s, "Outer", "Linear")
    np.testing.assert_allclose(aligned.values[:, 0], [0, 1, 3])


def test_inner_keeps_only_complete_rows() -> None:
    aligned, states = align(load_one_table_csv(ONE_TABLE), "Inner", "Linear")
    assert [format_timestamp(t) for t in aligned.timestamps] == [T2]
    assert states[0]["filledNARatio"] == 0.0 and states[0]["effectiveCount"] == 1


def test_align_errors() -> None:
    s = load_one_table_csv(ONE_TABLE)
    assert _codes(align, s, "Sideways") == "InvalidAlignPolicy"
    assert _codes(align, s, "Outer", "Mean") == "InvalidAlignPolicy"
    no_overlap = load_one_table_csv(f"timestamp,a,b\n{T0},1,\n{T1},,2\n")
    assert _codes(align, no_overlap, "Inner") == "NotEnoughData"
    empty_var = load_one_table_csv(f"timestamp,a,b\n{T0},1,\n{T1},2,\n")
    assert _codes(align, empty_var, "Outer", "Zero") == "NotEnoughData"


def test_align_accepts_lowercase_policy_names() -> None:
    aligned, _ = align(load_one_table_csv(ONE_TABLE), "outer", "previous")
    assert aligned.n_timestamps == 4


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z", [T0, T1, T2, T3]),  # clamped both sides
        (T1, T2, [T1, T2]),  # inclusive
        ("2021-01-01T00:00:30Z", "2021-01-01T00:02:30Z", [T1, T2]),  # between timestamps
        (None, T0, [T0]),
        (T3, T3, [T3]),  # a single point (streaming-style)
    ],
)
def test_slice_time(start: str | None, end: str | None, expected: list[str]) -> None:
    s = slice_time(load_one_table_csv(ONE_TABLE), start, end)
    assert [format_timestamp(t) for t in s.timestamps] == expected


def test_slice_time_errors() -> None:
    s = load_one_table_csv(ONE_TABLE)
    assert _codes(slice_time, s, T2, T1) == "InvalidTimeRange"
    assert _codes(slice_time, s, "2022-01-01T00:00:00Z", None) == "NotEnoughData"
    assert _codes(slice_time, s, "yesterday", None) == "InvalidTimestampFormat"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "RequiredHeaderMissing"),
        ("time,a\n2021-01-01T00:00:00Z,1\n", "RequiredHeaderMissing"),
        ("timestamp\n2021-01-01T00:00:00Z\n", "NoVariablesFound"),
        ("timestamp,a,a\n2021-01-01T00:00:00Z,1,2\n", "DuplicatedVariables"),
        ("timestamp,a\n", "NotEnoughData"),
        ("timestamp,a\n2021-01-01T00:00:00Z,1,2\n", "InvalidDataSchema"),
        ("timestamp,a\n01/02/2021 10:00,1\n", "InvalidTimestampFormat"),
        ("timestamp,a\n2021-01-01T00:00:00+02:00,1\n", "InvalidTimestampFormat"),
        (f"timestamp,a\n{T0},1\n{T0},2\n", "DuplicatedTimestamps"),
        (f"timestamp,a\n{T0},abc\n", "InvalidValueFormat"),
        (f"timestamp,a\n{T0},inf\n", "InvalidValueFormat"),
        (f"timestamp,a\n{T0},1e39\n", "InvalidValueFormat"),  # a float32 infinity
    ],
)
def test_one_table_errors(text: str, code: str) -> None:
    assert _codes(load_one_table_csv, text) == code


def test_invalid_value_message_names_the_cell() -> None:
    with pytest.raises(MvadDataError) as info:
        load_one_table_csv(f"timestamp,a,b\n{T0},1,2\n{T1},3,x1\n")
    assert "'b'" in info.value.message and "row 2" in info.value.message
    assert info.value.to_json()["code"] == "InvalidValueFormat"


def test_multi_table_errors() -> None:
    assert _codes(load_multi_table, {}) == "NoVariablesFound"
    assert _codes(load_multi_table, {"a.csv": "timestamp,val\n"}) == "InvalidDataSchema"
    assert (
        _codes(
            load_multi_table,
            {"x/a.csv": f"timestamp,value\n{T0},1\n", "y/a.csv": f"timestamp,value\n{T0},1\n"},
        )
        == "DuplicatedVariables"
    )
    assert (
        _codes(load_multi_table, {"a.csv": f"timestamp,value\n{T0},1\n{T0},1\n"})
        == "DuplicatedTimestamps"
    )


def test_missing_markers_and_whitespace() -> None:
    s = load_one_table_csv(f"\ufefftimestamp , a\n{T0}, 1.5 \n{T1},NaN\n\n{T2},null\n")
    assert s.variables == ("a",)
    assert s.values[0, 0] == 1.5 and np.isnan(s.values[1:, 0]).all()
