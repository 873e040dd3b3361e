"""Reading order and paragraphs from boxes alone: recursive XY-cut and line grouping.

Why XY-cut: sorting lines by rows interleaves the columns of a two-column page. Cutting the
page at whitespace that runs through it (vertical gaps first, so columns stay whole) and
reading the parts in order keeps each column together, and a full-width title or table above
or below the columns still comes first or last. Strips of a horizontal cut that are each split
by the same column gap are merged back, so paragraph gaps that happen to line up across columns
do not turn two columns into alternating pieces.

Boxes are axis-aligned `(x0, y0, x1, y1)` in a frame where text runs left to right (pages read
at an angle are rotated into that frame by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]


def _intervals_gap(spans: list[tuple[float, float]], min_gap: float) -> list[float]:
    """Midpoints of the gaps of at least `min_gap` between the union of 1-D intervals."""
    cuts: list[float] = []
    ordered = sorted(spans)
    end = ordered[0][1]
    for start, stop in ordered[1:]:
        if start - end >= min_gap:
            cuts.append((start + end) / 2)
        end = max(end, stop)
    return cuts


def _split(indices: list[int], boxes: Sequence[Box], axis: int, min_gap: float) -> list[list[int]]:
    """Groups of boxes separated by empty bands along `axis` (0: columns, 1: strips)."""
    if len(indices) < 2:
        return [indices]
    spans = [(boxes[i][axis], boxes[i][axis + 2]) for i in indices]
    cuts = _intervals_gap(spans, min_gap)
    if not cuts:
        return [indices]
    groups: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in indices:
        centre = (boxes[i][axis] + boxes[i][axis + 2]) / 2
        groups[sum(1 for c in cuts if centre > c)].append(i)
    return [g for g in groups if g]


def xy_cut_order(boxes: Sequence[Box], min_gap: float = 8.0) -> list[int]:
    """Indices of `boxes` in reading order (columns left to right, top to bottom within)."""
    return _order(list(range(len(boxes))), boxes, min_gap)


def _columns(indices: list[int], boxes: Sequence[Box], min_gap: float) -> list[list[int]]:
    return _split(indices, boxes, 0, min_gap)


def _order(indices: list[int], boxes: Sequence[Box], min_gap: float) -> list[int]:
    if len(indices) <= 1:
        return indices
    columns = _columns(indices, boxes, min_gap)
    if len(columns) > 1:
        columns = _attach_tag_columns(columns, boxes)
        if len(columns) == 1:  # text with its row tags: read row by row
            return [i for strip in _split(indices, boxes, 1, 1.0) for i in _rows(strip, boxes)]
        head, columns, tail = _peel(columns, boxes, min_gap)
        return (
            _order(head, boxes, min_gap)
            + [i for column in columns for i in _order(column, boxes, min_gap)]
            + _order(tail, boxes, min_gap)
        )
    strips = _split(indices, boxes, 1, 1.0)
    if len(strips) == 1:
        return _rows(indices, boxes)
    merged: list[list[int]] = []
    for n, strip in enumerate(strips):
        if merged and _continues_columns(merged[-1], strip, strips[n + 1 :], boxes, min_gap):
            merged[-1] = merged[-1] + strip
        else:
            merged.append(strip)
    return [i for part in merged for i in _order(part, boxes, min_gap)]


TAG_COLUMN_WIDTH = 0.25
"""A "column" at most this share of its region's width, whose boxes each sit on a row of a
neighbouring column, is a column of row tags (page numbers of a table of contents, a
`[Function]` label at the end of a signature line, the option names of an option list)."""


def _attach_tag_columns(columns: list[list[int]], boxes: Sequence[Box]) -> list[list[int]]:
    """Columns with each narrow column of row tags joined to the column it tags.

    A tag column (page numbers of a contents page, chapter numbers before its titles, a
    `[Function]` label at the end of a signature line) is read with the rows beside it, as
    printed: "Introduction . . . 1" keeps its page number, where reading the columns whole
    would list every page number after every title. It joins its left neighbour (its right
    one when it is first). Real text columns are wider than `TAG_COLUMN_WIDTH` of the region,
    so they are still read whole, each with its own tags.
    """
    members = [i for column in columns for i in column]
    width = max(boxes[i][2] for i in members) - min(boxes[i][0] for i in members)
    merged: list[list[int]] = []
    pending: list[int] = []  # tags seen before any text column
    for n, column in enumerate(columns):
        span = max(boxes[i][2] for i in column) - min(boxes[i][0] for i in column)
        beside = merged[-1] if merged else (columns[n + 1] if n + 1 < len(columns) else [])
        if (
            span <= TAG_COLUMN_WIDTH * width
            and beside
            and all(any(_same_row(boxes[i], boxes[j]) for j in beside) for i in column)
        ):
            if merged:
                merged[-1] = merged[-1] + column
            else:
                pending += column
            continue
        merged.append(pending + column)
        pending = []
    if pending:
        merged.append(pending)
    return merged


def _same_row(a: Box, b: Box) -> bool:
    """Vertical overlap of at least half the shorter box."""
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * max(min(a[3] - a[1], b[3] - b[1]), 1.0)


def _rows(indices: list[int], boxes: Sequence[Box]) -> list[int]:
    """Boxes of one strip row by row (a box joins the row whose first box it overlaps by half
    its height), left to right within a row; a tag a few pixels higher than the text beside it
    stays after that text."""
    rows: list[list[int]] = []
    for i in sorted(indices, key=lambda i: (boxes[i][1] + boxes[i][3]) / 2):
        if rows and _same_row(boxes[rows[-1][0]], boxes[i]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda i: boxes[i][0])]


def _continues_columns(
    group: list[int], strip: list[int], later: list[list[int]], boxes: Sequence[Box], min_gap: float
) -> bool:
    """Whether `strip` belongs to the columns of the multi-column `group` above it.

    It does when it has the same columns (the union keeps the group's column count and the
    strip splits the same way), or when it is one block that keeps the group's columns and
    sits close under the group (the next line of one column) or between column rows (the
    strip after it continues the columns). A table row with its own, different columns or a
    one-column strip after a real gap (a heading under the columns) does not.
    """
    count = len(_columns(group, boxes, min_gap))
    if count < 2:
        return False
    union = group + strip
    if len(_columns(union, boxes, min_gap)) != count:
        return False
    own = len(_columns(strip, boxes, min_gap))
    if own == count:
        return True
    if own != 1:
        return False
    bottom = max(boxes[i][3] for i in group)
    if min(boxes[i][1] for i in strip) - bottom < min_gap:
        return True
    return (
        bool(later)
        and len(_columns(later[0], boxes, min_gap)) == count
        and len(_columns(union + later[0], boxes, min_gap)) == count
    )


def _peel(
    columns: list[list[int]], boxes: Sequence[Box], min_gap: float
) -> tuple[list[int], list[list[int]], list[int]]:
    """Blocks of one column that lie wholly below (above) all the other columns, after a gap
    in their own column, are read after (before) the columns: a heading narrow enough to fit
    over one column is not part of it. A column that simply runs longer keeps its lines."""
    tops = [min(boxes[i][1] for i in c) for c in columns]
    bottoms = [max(boxes[i][3] for i in c) for c in columns]
    head: list[int] = []
    tail: list[int] = []
    kept: list[list[int]] = []
    for n, column in enumerate(columns):
        others_top = min(t for k, t in enumerate(tops) if k != n)
        others_bottom = max(b for k, b in enumerate(bottoms) if k != n)
        rest = sorted(column, key=lambda i: boxes[i][1])
        for k, i in enumerate(rest):
            if boxes[i][1] >= others_bottom + min_gap and (
                k == 0 or boxes[i][1] - max(boxes[j][3] for j in rest[:k]) >= min_gap
            ):
                tail.extend(rest[k:])
                rest = rest[:k]
                break
        for k in range(len(rest) - 1, -1, -1):
            i = rest[k]
            if boxes[i][3] <= others_top - min_gap and (
                k == len(rest) - 1
                or min(boxes[j][1] for j in rest[k + 1 :]) - boxes[i][3] >= min_gap
            ):
                head.extend(rest[: k + 1])
                rest = rest[k + 1 :]
                break
        if rest:
            kept.append(rest)
    return head, kept, tail


def group_paragraphs(boxes: Sequence[Box], order: Sequence[int]) -> list[list[int]]:
    """Consecutive lines (in reading order) that form one paragraph, as index lists.

    A line continues the paragraph when it sits just below the previous line (gap under
    0.6 line heights), overlaps it horizontally and has a comparable height (detected line
    boxes vary by half with descenders, so only a clearly different font size splits).
    """
    paragraphs: list[list[int]] = []
    for i in order:
        if paragraphs:
            prev = boxes[paragraphs[-1][-1]]
            cur = boxes[i]
            h_prev, h_cur = prev[3] - prev[1], cur[3] - cur[1]
            gap = cur[1] - prev[3]
            overlap = min(prev[2], cur[2]) - max(prev[0], cur[0])
            similar = max(h_prev, h_cur) <= 1.6 * max(min(h_prev, h_cur), 1.0)
            if (
                -0.5 * h_prev <= gap <= 0.6 * min(h_prev, h_cur)
                and overlap > 0
                and similar
                and abs(cur[0] - prev[0]) <= 2.5 * h_prev
            ):
                paragraphs[-1].append(i)
                continue
        paragraphs.append([i])
    return paragraphs
