"""Layout building blocks without models: reading order, paragraphs, table grids, regions."""

from __future__ import annotations

from batchinfer.models.layout.regions import Region, _drop_contained
from batchinfer.models.layout.tables import place
from batchinfer.models.ocr.reading import group_paragraphs, xy_cut_order


def _lines(
    x0: float, x1: float, y: float, count: int, pitch: float = 28, h: float = 24
) -> list[tuple[float, float, float, float]]:
    return [(x0, y + i * pitch, x1, y + i * pitch + h) for i in range(count)]


def test_two_columns_read_whole_between_full_width_blocks() -> None:
    title = [(80, 20, 900, 60)]
    left = _lines(80, 480, 100, 4) + _lines(80, 480, 240, 3)  # two paragraphs
    right = _lines(540, 940, 100, 6)
    table = [(80, 400, 940, 600)]
    boxes = title + right + left + table  # deliberately shuffled
    order = xy_cut_order(boxes, min_gap=20)
    names = ["title"] + [f"R{i}" for i in range(6)] + [f"L{i}" for i in range(7)] + ["table"]
    assert [names[i] for i in order] == (
        ["title"] + [f"L{i}" for i in range(7)] + [f"R{i}" for i in range(6)] + ["table"]
    )


def test_paragraphs_split_at_gaps_and_font_changes() -> None:
    boxes = [(80, 20, 600, 70)] + _lines(80, 600, 100, 3) + _lines(80, 600, 220, 2)
    groups = group_paragraphs(boxes, list(range(len(boxes))))
    assert groups == [[0], [1, 2, 3], [4, 5]]


def test_table_grid_places_row_and_column_spans() -> None:
    box = (0.0, 0.0, 1.0, 1.0)
    rows = [
        [(2, 1, box, True), (1, 2, box, True)],  # A spans two rows, B two columns
        [(1, 1, box, False), (1, 1, box, False)],  # next to A's second row
    ]
    table = place(rows)
    assert table is not None and (table.rows, table.columns) == (2, 3)
    assert [(c.row, c.column, c.row_span, c.column_span, c.header) for c in table.cells] == [
        (0, 0, 2, 1, True),
        (0, 1, 1, 2, True),
        (1, 1, 1, 1, False),
        (1, 2, 1, 1, False),
    ]


def test_a_region_inside_a_better_one_of_its_kind_is_dropped() -> None:
    regions = [
        Region("table", 0.95, (100, 700, 1300, 1000)),
        Region("text", 0.9, (105, 700, 1200, 820)),
        Region("table", 0.41, (105, 700, 1200, 820)),
        Region("figure", 0.31, (300, 740, 800, 980)),
        Region("figure", 0.27, (10, 680, 1050, 1500)),
    ]  # a page-sized one around it
    assert [(r.label, r.score) for r in _drop_contained(regions)] == [
        ("table", 0.95),
        ("text", 0.9),
        ("figure", 0.31),
    ]


def test_a_column_running_longer_stays_in_its_column_and_a_heading_below_comes_after() -> None:
    left = _lines(80, 480, 100, 5)  # one line longer than the right column
    right = _lines(540, 940, 100, 4)
    heading = [(80, 300, 380, 330)]  # under the columns, after a paragraph gap
    boxes = left + right + heading
    names = [f"L{i}" for i in range(5)] + [f"R{i}" for i in range(4)] + ["heading"]
    order = xy_cut_order(boxes, min_gap=20)
    assert [names[i] for i in order] == names
