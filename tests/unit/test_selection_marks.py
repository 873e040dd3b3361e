"""Selection-mark detection and placement on drawn images, without the OCR models."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from batchinfer.models.layout.marks import Mark, find_marks
from batchinfer.models.layout.placement import TEXT_TOKENS, attach, with_tokens
from batchinfer.models.layout.synthetic import font, make_form_page, make_page
from batchinfer.models.ocr.layout import TextLine, TextWord

TEXT_HEIGHT = 30.0  # what the detector's boxes measure for 20 px text


def _near(box: tuple[float, ...], truth: tuple[int, ...]) -> bool:
    return max(abs(a - b) for a, b in zip(box, truth, strict=True)) <= 2


def test_form_marks_are_found_with_their_states() -> None:
    for seed in range(4):
        form = make_form_page(seed)
        marks, surgery = find_marks(np.asarray(form.image), TEXT_HEIGHT)
        assert surgery == {}
        assert len(marks) == len(form.marks)
        for truth in form.marks:
            (found,) = [m for m in marks if _near(m.box, truth.box)]
            assert (found.state, found.shape) == (truth.state, truth.shape)


def test_report_pages_with_ruled_tables_and_figures_have_no_marks() -> None:
    for seed in range(3):
        page = make_page(seed=seed)
        assert find_marks(np.asarray(page.image), TEXT_HEIGHT)[0] == []


def test_letters_grids_and_bullets_are_not_marks() -> None:
    image = Image.new("RGB", (900, 400), "white")
    draw = ImageDraw.Draw(image)
    face = font(20)
    draw.text((20, 20), "O D 0 o Q C U DOOR ODD 000 oo [ ] ( )", fill="black", font=face)
    for row in range(4):  # a grid of small square cells, as a ruled table could be
        for col in range(10):
            x, y = 20 + col * 22, 100 + row * 22
            draw.rectangle((x, y, x + 22, y + 22), outline="black", width=2)
    draw.rectangle((400, 100, 418, 118), fill="black")  # a square bullet
    draw.ellipse((450, 100, 468, 118), fill="black")  # a round bullet
    assert find_marks(np.asarray(image), TEXT_HEIGHT)[0] == []


def test_a_mark_read_as_a_letter_is_given_back_to_the_mark() -> None:
    image = Image.new("RGB", (400, 80), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 40, 40), outline="black", width=2)
    draw.text((52, 18), "Yes", fill="black", font=font(20))
    words = [((18.0, 16.0, 44.0, 44.0), "O"), ((50.0, 16.0, 90.0, 44.0), "Yes")]
    marks, surgery = find_marks(np.asarray(image), TEXT_HEIGHT, words)
    assert [(m.state, m.shape) for m in marks] == [("unselected", "round")]
    assert surgery == {0: "drop"}
    glued = [((18.0, 16.0, 90.0, 44.0), "OYes")]
    assert find_marks(np.asarray(image), TEXT_HEIGHT, glued)[1] == {0: "trim"}
    real = [((18.0, 16.0, 90.0, 44.0), "Yes")]  # a word that does not start like a mark
    assert find_marks(np.asarray(image), TEXT_HEIGHT, real)[0] == []


def _line(words: list[tuple[str, float, float]], y0: float = 100, y1: float = 130) -> TextLine:
    placed, offset = [], 0
    for text, x0, x1 in words:
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
        placed.append(TextWord(text, quad, 0.99, offset))
        offset += len(text) + 1
    x0, x1 = words[0][1], words[-1][2]
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return TextLine(quad, " ".join(w[0] for w in words), placed, (x0, y0, x1, y1))


def _mark(x0: float, state: str, y0: float = 105) -> Mark:
    return Mark((x0, y0, x0 + 20, y0 + 20), state, 0.9, "square")


def test_marks_fold_into_their_row_before_their_labels() -> None:
    question = _line([("Contact:", 10, 110)])
    email = _line([("Email", 160, 220)])
    phone = _line([("Phone", 280, 350)])
    lines = attach([question, email, phone], [_mark(130, "unselected"), _mark(250, "selected")])
    (row,) = lines
    written, offsets = with_tokens(row, TEXT_TOKENS)
    assert written.content == "Contact: :unselected: Email :selected: Phone"
    for offset, mark in offsets:
        token = TEXT_TOKENS[mark.state]
        assert written.content[offset : offset + len(token)] == token
    for word in written.words:
        assert written.content[word.offset : word.offset + len(word.content)] == word.content


def test_a_mark_with_no_text_on_its_row_stands_alone() -> None:
    text = _line([("Notes", 10, 80)])
    lines = attach([text], [_mark(10, "selected", y0=300)])
    assert len(lines) == 2 and lines[0] is text
    written, offsets = with_tokens(lines[1], TEXT_TOKENS)
    assert written.content == ":selected:" and written.words == []
    assert [o for o, _ in offsets] == [0]


def test_rows_of_two_columns_are_not_joined_across_the_gutter() -> None:
    left_column = _line([("Budget", 10, 110)])
    option = _line([("Approved", 200, 300)])
    lines = attach([left_column, option], [_mark(170, "selected")])
    assert [ln.content for ln in lines] == ["Budget", "Approved"]
    written, _ = with_tokens(lines[1], TEXT_TOKENS)
    assert written.content == ":selected: Approved"
