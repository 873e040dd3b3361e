"""Generated pages with known structure, for the layout tests and `bench/layout_quality.py`.

Each page has a page header, a title, section headings, body text in one or two columns, a
ruled table of 3-5 columns and 4-6 rows (a header row and a cell merged across two columns), a
figure with a caption (before or after the table), a page number and, on odd pages, a page
footer, drawn with Pillow; the seed picks the variant and the words. The truth lists the
elements in reading order, so role precision and recall, table cell accuracy and reading order
can be measured against what the model returns.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from batchinfer.samples import FONT_CANDIDATES

BOLD_CANDIDATES = tuple(
    path.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf") for path in FONT_CANDIDATES
)

WORDS = (
    "revenue growth market region quarter customer product service team report plan "
    "cost margin sales office supply demand value price order account budget result "
    "policy review target energy network system design data model study period total "
    "share income asset capital staff training quality safety project partner"
).split()
CITIES = (
    "Lisbon Oslo Denver Nairobi Osaka Lima Dublin Austin Perth Quebec Porto Tunis "
    "Bergen Dallas Sapporo Cusco"
).split()


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (BOLD_CANDIDATES if bold else ()) + tuple(FONT_CANDIDATES):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


@dataclass
class TruthCell:
    row: int
    column: int
    text: str
    row_span: int = 1
    column_span: int = 1
    header: bool = False


@dataclass
class TruthElement:
    """One element in reading order: a paragraph (with its role), a table or a figure."""

    kind: str  # "paragraph", "table", "figure"
    text: str = ""
    role: str | None = None
    cells: list[TruthCell] = field(default_factory=list)
    rows: int = 0
    columns: int = 0
    caption: str = ""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class SyntheticPage:
    image: Image.Image
    elements: list[TruthElement]

    @property
    def paragraphs(self) -> list[TruthElement]:
        return [e for e in self.elements if e.kind == "paragraph"]

    @property
    def tables(self) -> list[TruthElement]:
        return [e for e in self.elements if e.kind == "table"]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    face: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    width: int,
) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=face) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def make_page(
    seed: int = 0, number: int = 1, width: int = 1100, height: int = 1500
) -> SyntheticPage:
    """One page; the same seed always draws the same page."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    body, small = font(20), font(17)
    elements: list[TruthElement] = []
    margin = 80

    header = f"Contoso {rng.choice(CITIES)} Office Report"
    draw.text((margin, 30), header, fill="black", font=small)
    elements.append(TruthElement("paragraph", header, "pageHeader"))

    title = f"{rng.choice(CITIES)} {rng.choice(WORDS).title()} Review {2020 + seed % 6}"
    draw.text((margin, 90), title, fill="black", font=font(40, bold=True))
    elements.append(TruthElement("paragraph", title, "title"))

    y = 170
    heading = f"1 {rng.choice(WORDS).title()} overview"
    draw.text((margin, y), heading, fill="black", font=font(28, bold=True))
    elements.append(TruthElement("paragraph", heading, "sectionHeading"))
    y += 60

    columns = rng.choice((1, 2, 2))
    column_width = (width - 2 * margin - 60 * (columns - 1)) // columns
    bottom = y
    for column in range(columns):
        x, cy = margin + column * (column_width + 60), y
        for _ in range(2 if columns == 2 else 3):
            text = " ".join(_sentence(rng, rng.randint(6, 10)) for _ in range(2))
            lines = _wrap(draw, text, body, column_width)
            for line in lines:
                draw.text((x, cy), line, fill="black", font=body)
                cy += 28
            elements.append(TruthElement("paragraph", "\n".join(lines)))
            cy += 30
        bottom = max(bottom, cy)
    y = bottom + 10

    heading = f"2 {rng.choice(WORDS).title()} by region"
    draw.text((margin, y), heading, fill="black", font=font(28, bold=True))
    elements.append(TruthElement("paragraph", heading, "sectionHeading"))
    y += 60

    figure_first = rng.random() < 0.4
    if not figure_first:
        y = _draw_table(draw, rng, elements, margin, y, width - 2 * margin, body) + 40
    y = _draw_figure(draw, rng, elements, width, y, small) + 50
    if figure_first:
        y = _draw_table(draw, rng, elements, margin, y, width - 2 * margin, body) + 40

    if number % 2:
        footer = "Confidential - internal use only"
        draw.text((margin, height - 60), footer, fill="black", font=small)
        elements.append(TruthElement("paragraph", footer, "pageFooter"))
    page_number = f"Page {number}"
    draw.text((width - margin - 70, height - 60), page_number, fill="black", font=small)
    elements.append(TruthElement("paragraph", page_number, "pageNumber"))
    return SyntheticPage(image, elements)


def _draw_figure(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    elements: list[TruthElement],
    width: int,
    y: int,
    face: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> int:
    """A bar chart in a frame with a caption below it; returns the y below the caption."""
    fig_w, fig_h = rng.randint(380, 520), rng.randint(180, 240)
    x0 = (width - fig_w) // 2
    draw.rectangle((x0, y, x0 + fig_w, y + fig_h), outline="black", width=2)
    for i in range(5):
        bar = rng.randint(40, fig_h - 30)
        bx = x0 + 30 + i * 75
        draw.rectangle((bx, y + fig_h - 10 - bar, bx + 45, y + fig_h - 10), fill=(70, 110, 190))
    caption = f"Figure 1: {rng.choice(WORDS).title()} per {rng.choice(WORDS)}"
    draw.text((x0, y + fig_h + 12), caption, fill="black", font=face)
    elements.append(TruthElement("figure", caption=caption, box=(x0, y, x0 + fig_w, y + fig_h)))
    return y + fig_h + 40


def _draw_table(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    elements: list[TruthElement],
    x: int,
    y: int,
    width: int,
    face: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> int:
    """A ruled table of 3-5 columns: a header row, data rows, one cell merged over two
    columns."""
    columns, rows = rng.randint(3, 5), rng.randint(4, 6)
    row_h, col_w = 44, width // columns
    merged_row = rng.randint(1, rows - 1)
    merged_col = rng.randint(1, columns - 2)
    cells: list[TruthCell] = []
    headers = ["City", "Units", "Share", "Notes", "Owner"]
    for r in range(rows):
        c = 0
        while c < columns:
            span = 2 if (r == merged_row and c == merged_col) else 1
            if r == 0:
                text = headers[c]
            elif c == 0:
                text = rng.choice(CITIES)
            elif span == 2:
                text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} pending"
            elif c == 1:
                text = str(rng.randint(100, 9999))
            elif c == 2:
                text = f"{rng.randint(1, 99)}%"
            else:
                text = rng.choice(WORDS)
            cells.append(TruthCell(r, c, text, 1, span, header=r == 0))
            x0, y0 = x + c * col_w, y + r * row_h
            x1 = x0 + span * col_w
            draw.rectangle((x0, y0, x1, y0 + row_h), outline="black", width=2)
            draw.text((x0 + 12, y0 + 10), text, fill="black", font=face)
            c += span
    elements.append(TruthElement("table", cells=cells, rows=rows, columns=columns))
    return y + rows * row_h


# ------------------------------------------------------------------------- form pages


@dataclass
class TruthMark:
    """A drawn selection mark: its box in drawn pixels, state, shape and the label after it
    ("" when it stands alone, e.g. in a table cell)."""

    box: tuple[int, int, int, int]
    state: str  # "selected" or "unselected"
    shape: str  # "square" or "round"
    label: str = ""
    in_table: bool = False


@dataclass
class FormPage:
    image: Image.Image
    marks: list[TruthMark]
    title: str


def _box(draw: ImageDraw.ImageDraw, x: int, y: int, side: int, checked: bool, style: int) -> None:
    draw.rectangle((x, y, x + side, y + side), outline="black", width=2)
    if not checked:
        return
    if style == 0:  # a tick
        draw.line(
            (x + side * 0.2, y + side * 0.5, x + side * 0.42, y + side * 0.78), "black", width=3
        )
        draw.line(
            (x + side * 0.42, y + side * 0.78, x + side * 0.82, y + side * 0.2), "black", width=3
        )
    elif style == 1:  # a cross
        m = max(4, side // 4)
        draw.line((x + m, y + m, x + side - m, y + side - m), "black", width=3)
        draw.line((x + m, y + side - m, x + side - m, y + m), "black", width=3)
    else:  # a filled square inside
        m = max(4, side // 4)
        draw.rectangle((x + m, y + m, x + side - m, y + side - m), fill="black")


def _radio(draw: ImageDraw.ImageDraw, x: int, y: int, side: int, checked: bool) -> None:
    draw.ellipse((x, y, x + side, y + side), outline="black", width=2)
    if checked:
        m = max(4, side // 4)
        draw.ellipse((x + m, y + m, x + side - m, y + side - m), fill="black")


FORM_QUESTIONS = (
    ("Do you agree to the terms", ("Yes", "No")),
    ("Preferred contact", ("Email", "Phone", "Post")),
    ("Account type", ("Personal", "Business")),
    ("Delivery window", ("Morning", "Afternoon", "Evening")),
)
FORM_OPTIONS = (
    "Send me the monthly newsletter",
    "I have read the privacy notice",
    "Add a printed copy of the invoice",
    "Keep my card details on file",
    "Notify me when the order ships",
)


def make_form_page(seed: int = 0, width: int = 1100, height: int = 1500) -> FormPage:
    """A form: a title, questions answered with boxes or radio buttons on one row, a column of
    check boxes before labels, a ruled table with a check box column, and a paragraph full of
    round and square letters (O, D, 0, o) that must not be read as marks."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    body = font(20)
    marks: list[TruthMark] = []
    margin = 80
    side = rng.choice((18, 20, 22))
    title = f"{rng.choice(CITIES)} Customer Application"
    draw.text((margin, 70), title, fill="black", font=font(36, bold=True))

    y = 160
    for question, answers in FORM_QUESTIONS:
        round_marks = rng.random() < 0.5
        draw.text((margin, y), f"{question}:", fill="black", font=body)
        x = margin + int(draw.textlength(f"{question}:", font=body)) + 30
        chosen = rng.randrange(len(answers) + 1) - 1  # -1: nothing chosen
        for k, answer in enumerate(answers):
            checked = k == chosen or (not round_marks and rng.random() < 0.25)
            top = y + 2
            if round_marks:
                _radio(draw, x, top, side, checked)
            else:
                _box(draw, x, top, side, checked, rng.randrange(3))
            marks.append(
                TruthMark(
                    (x, top, x + side, top + side),
                    "selected" if checked else "unselected",
                    "round" if round_marks else "square",
                    answer,
                )
            )
            draw.text((x + side + 10, y), answer, fill="black", font=body)
            x += side + 10 + int(draw.textlength(answer, font=body)) + 40
        y += 50

    y += 20
    for option in rng.sample(FORM_OPTIONS, 4):
        checked = rng.random() < 0.5
        _box(draw, margin, y + 2, side, checked, rng.randrange(3))
        marks.append(
            TruthMark(
                (margin, y + 2, margin + side, y + 2 + side),
                "selected" if checked else "unselected",
                "square",
                option,
            )
        )
        draw.text((margin + side + 12, y), option, fill="black", font=body)
        y += 44

    y += 30
    columns = ("Item", "Qty", "Approved", "Notes")
    col_w, row_h = (width - 2 * margin) // len(columns), 46
    for r in range(4):
        for c, header in enumerate(columns):
            x0, y0 = margin + c * col_w, y + r * row_h
            draw.rectangle((x0, y0, x0 + col_w, y0 + row_h), outline="black", width=2)
            if r == 0:
                draw.text((x0 + 12, y0 + 11), header, fill="black", font=body)
            elif c == 0:
                draw.text((x0 + 12, y0 + 11), rng.choice(WORDS).title(), fill="black", font=body)
            elif c == 1:
                draw.text((x0 + 12, y0 + 11), str(rng.randint(1, 99)), fill="black", font=body)
            elif c == 2:
                checked = rng.random() < 0.5
                bx, by = x0 + 14, y0 + (row_h - side) // 2
                _box(draw, bx, by, side, checked, rng.randrange(3))
                marks.append(
                    TruthMark(
                        (bx, by, bx + side, by + side),
                        "selected" if checked else "unselected",
                        "square",
                        in_table=True,
                    )
                )
            else:
                draw.text((x0 + 12, y0 + 11), rng.choice(WORDS), fill="black", font=body)
    y += 4 * row_h + 50

    for text in (
        "ODD DOOR ORDER: O D 0 o DO OD. Code 0O0D, room D10, box O.",
        "Office hours are posted on the door of room 0.",
    ):
        draw.text((margin, y), text, fill="black", font=body)
        y += 32
    return FormPage(image, marks, title)
