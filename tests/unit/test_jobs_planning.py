"""Planning math: shard sizes, shard files, chunk slices, plans and progress percentages."""

from __future__ import annotations

import pytest

from batchinfer.jobs.model import Plan
from batchinfer.jobs.planning import (
    chunk_slices,
    make_plan,
    percent_completed,
    shard_size,
    spread_small_job,
    write_shards,
)


class TestShardSize:
    def test_product_of_items_and_activities(self) -> None:
        assert shard_size(8, 50) == 400

    @pytest.mark.parametrize(
        ("items", "activities", "expected"), [(0, 5, 5), (3, 0, 3), (-2, -7, 1), (1, 1, 1)]
    )
    def test_non_positive_values_count_as_one(
        self, items: int, activities: int, expected: int
    ) -> None:
        assert shard_size(items, activities) == expected


class TestWriteShards:
    def _run(self, names: list[str], size: int) -> tuple[int, list[tuple[int, list[str]]]]:
        saved: list[tuple[int, list[str]]] = []
        total = write_shards(iter(names), size, lambda i, shard: saved.append((i, list(shard))))
        return total, saved

    def test_exact_multiple(self) -> None:
        total, saved = self._run([f"n{i}" for i in range(6)], 3)
        assert total == 6
        assert saved == [(0, ["n0", "n1", "n2"]), (1, ["n3", "n4", "n5"])]

    def test_last_shard_is_partial(self) -> None:
        total, saved = self._run([f"n{i}" for i in range(7)], 3)
        assert total == 7
        assert [i for i, _ in saved] == [0, 1, 2]
        assert saved[-1] == (2, ["n6"])
        assert [n for _, shard in saved for n in shard] == [f"n{i}" for i in range(7)]

    def test_empty_input_saves_nothing(self) -> None:
        assert self._run([], 4) == (0, [])

    def test_streams_without_collecting(self) -> None:
        """Each shard is saved as soon as it fills, before the rest of the stream is read."""
        events: list[str] = []

        def names():  # type: ignore[no-untyped-def]
            for i in range(5):
                events.append(f"read {i}")
                yield str(i)

        write_shards(names(), 2, lambda i, shard: events.append(f"save {i}"))
        assert events == [
            "read 0",
            "read 1",
            "save 0",
            "read 2",
            "read 3",
            "save 1",
            "read 4",
            "save 2",
        ]


class TestMakePlan:
    def test_counts_shards_by_ceiling(self) -> None:
        plan = make_plan(total=1001, items_per_activity=8, activities_per_shard=50)
        assert (plan.total, plan.shard_size, plan.items_per_activity, plan.shards) == (
            1001,
            400,
            8,
            3,
        )
        assert plan.error is None

    def test_exact_fit(self) -> None:
        assert make_plan(800, 8, 50).shards == 2

    def test_zero_items_zero_shards(self) -> None:
        plan = make_plan(0, 8, 50)
        assert plan.shards == 0
        assert plan.shard_size == 400

    def test_items_per_activity_at_least_one(self) -> None:
        plan = make_plan(5, 0, 2)
        assert plan.items_per_activity == 1
        assert plan.shard_size == 2
        assert plan.shards == 3

    def test_chunks_in_each_shard(self) -> None:
        plan = make_plan(total=23, items_per_activity=4, activities_per_shard=2)  # shards of 8
        assert plan.shards == 3
        assert [plan.chunks_in_shard(s) for s in range(plan.shards)] == [2, 2, 2]
        # the last shard holds 7 items: 4 + 3
        plan = make_plan(total=17, items_per_activity=4, activities_per_shard=2)
        assert [plan.chunks_in_shard(s) for s in range(plan.shards)] == [2, 2, 1]

    def test_chunks_beyond_the_last_shard(self) -> None:
        assert make_plan(3, 2, 2).chunks_in_shard(5) == 0


class TestChunkSlices:
    def test_slices_cover_every_item_once(self) -> None:
        slices = list(chunk_slices(10, 4))
        assert slices == [(0, 4), (4, 8), (8, 10)]
        covered = [i for start, stop in slices for i in range(start, stop)]
        assert covered == list(range(10))

    def test_empty_shard(self) -> None:
        assert list(chunk_slices(0, 4)) == []

    def test_step_at_least_one(self) -> None:
        assert list(chunk_slices(3, 0)) == [(0, 1), (1, 2), (2, 3)]

    @pytest.mark.parametrize("total", [1, 7, 8, 9, 400, 401])
    def test_slices_agree_with_plan(self, total: int) -> None:
        plan = make_plan(total, 8, 50)
        for shard in range(plan.shards):
            items = min(plan.shard_size, total - shard * plan.shard_size)
            assert len(list(chunk_slices(items, plan.items_per_activity))) == plan.chunks_in_shard(
                shard
            )


class TestPercentCompleted:
    @pytest.mark.parametrize(
        ("done", "total", "expected"),
        [
            (0, None, 0),
            (5, None, 0),
            (0, 0, 0),
            (0, 10, 0),
            (1, 3, 33),
            (2, 3, 66),
            (99, 100, 99),
            (199, 200, 99),
            (3, 3, 100),
            (4, 3, 100),
        ],
    )
    def test_integer_floor_capped(self, done: int, total: int | None, expected: int) -> None:
        assert percent_completed(done, total) == expected

    def test_never_100_before_done(self) -> None:
        total = 1000
        assert all(percent_completed(d, total) < 100 for d in range(total))


def test_plan_chunks_handle_plan_from_json() -> None:
    plan = Plan.from_json(make_plan(9, 2, 2).to_json())
    assert [plan.chunks_in_shard(s) for s in range(plan.shards)] == [2, 2, 1]


def test_work_units_split_small_jobs_and_cover_every_item_once() -> None:
    from batchinfer.jobs.planning import work_units

    for total, shard, per in (
        (7, 400, 8),
        (100, 400, 8),
        (1000, 400, 8),
        (10_000, 400, 8),
        (13, 5, 2),
        (0, 400, 8),
        (300_000, 400, 8),
    ):
        units = work_units(total, shard, per)
        assert sum(items for _, items in units) == total
        chunks = [
            (s, c)
            for segments, _ in units
            for s, first, stop in segments
            for c in range(first, stop)
        ]
        assert len(chunks) == len(set(chunks))  # no chunk twice
        assert len(chunks) == sum(
            -(-min(shard, total - i * shard) // per)
            for i in range(-(-total // shard) if total else 0)
        )
    assert len(work_units(100, 400, 8)) == 13  # one chunk per unit: progress in ~8% steps
    assert len(work_units(10_000, 400, 8)) == 25  # big jobs: one unit per stored shard
    huge = work_units(1_000_000, 400, 8)  # 2,500 shards: grouped to keep histories bounded
    assert len(huge) <= 256
    assert max(sum(stop - first for _, first, stop in segs) for segs, _ in huge) <= 500


class TestSpreadSmallJob:
    def test_a_small_job_runs_on_as_many_activities_as_asked(self) -> None:
        plan = spread_small_job(make_plan(10, 8, 50), activities=2)
        assert (plan.items_per_activity, plan.shard_size, plan.shards) == (5, 400, 1)
        assert plan.chunks_in_shard(0) == 2
        assert list(chunk_slices(10, plan.items_per_activity)) == [(0, 5), (5, 10)]

    def test_chunks_keep_two_items_at_least(self) -> None:
        assert spread_small_job(make_plan(3, 8, 50), activities=2).items_per_activity == 2
        assert spread_small_job(make_plan(7, 8, 50), activities=16).items_per_activity == 8

    @pytest.mark.parametrize(("total", "activities"), [(16, 2), (1000, 2), (10, 1), (0, 4), (2, 2)])
    def test_jobs_big_enough_or_single_activity_machines_keep_their_plan(
        self, total: int, activities: int
    ) -> None:
        plan = make_plan(total, 8, 50)
        assert spread_small_job(plan, activities) == plan

    def test_a_failed_plan_is_left_alone(self) -> None:
        from batchinfer.jobs.model import ItemError

        failed = Plan(0, 400, 8, 0, ItemError("InvalidRequest", "x"))
        assert spread_small_job(failed, 4) is failed
