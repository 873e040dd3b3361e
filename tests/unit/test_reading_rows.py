"""Reading order of row tags: page numbers of a contents page, labels at the end of a line."""

from __future__ import annotations

from batchinfer.models.ocr.reading import xy_cut_order

Box = tuple[float, float, float, float]


def _read(named: dict[str, Box]) -> list[str]:
    names = list(named)
    return [names[i] for i in xy_cut_order(list(named.values()), min_gap=20)]


def test_contents_page_keeps_each_page_number_with_its_title() -> None:
    rows = {}
    for n in range(5):
        y = 100 + 40 * n
        rows[f"title{n}"] = (100, y, 500 + 30 * n, y + 28)
        rows[f"page{n}"] = (1100, y + 3, 1130, y + 27)  # numbers sit a little lower
    shuffled = dict(sorted(rows.items(), key=lambda kv: kv[0][::-1]))
    assert _read(shuffled) == [f"{kind}{n}" for n in range(5) for kind in ("title", "page")]


def test_label_at_the_end_of_a_signature_line_stays_on_its_line() -> None:
    named = {
        "signature": (100, 100, 900, 128),
        "label": (1050, 98, 1190, 128),
        "continued": (140, 132, 1000, 160),
        "gap-then-text": (100, 200, 1190, 228),
    }
    assert _read(named) == ["signature", "label", "continued", "gap-then-text"]


def test_two_real_columns_are_still_read_whole() -> None:
    # Lines of both columns share rows, as typeset columns do, but each column is wide.
    left = {f"L{i}": (80.0, 100.0 + 30 * i, 480.0, 124.0 + 30 * i) for i in range(5)}
    right = {f"R{i}": (540.0, 100.0 + 30 * i, 940.0, 124.0 + 30 * i) for i in range(5)}
    assert _read({**right, **left}) == [*left, *right]


def test_two_index_columns_each_keep_their_page_numbers() -> None:
    named: dict[str, Box] = {}
    for n in range(4):
        y = 100 + 30 * n
        named[f"a{n}"] = (80, y, 380, y + 24)
        named[f"a{n}#"] = (440, y, 470, y + 24)
        named[f"b{n}"] = (560, y, 860, y + 24)
        named[f"b{n}#"] = (920, y, 950, y + 24)
    expected = [f"a{n}{tag}" for n in range(4) for tag in ("", "#")] + [
        f"b{n}{tag}" for n in range(4) for tag in ("", "#")
    ]
    assert _read(dict(reversed(named.items()))) == expected


def test_chapter_numbers_before_their_titles_read_with_them() -> None:
    named: dict[str, Box] = {}
    for n in range(3):
        y = 100 + 40 * n
        named[f"num{n}"] = (100, y, 120, y + 28)
        named[f"title{n}"] = (160, y, 700, y + 28)
        named[f"page{n}"] = (1100, y, 1130, y + 28)
    expected = [f"{k}{n}" for n in range(3) for k in ("num", "title", "page")]
    assert _read(named) == expected
