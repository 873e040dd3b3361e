"""`features=languages`: locales, spans that index `content`, runs merged, short text absorbed."""

from __future__ import annotations

from typing import Any

import pytest

from batchinfer.models.addons.languages import (
    detect_languages,
    script_and_letters,
    service_locale,
    text_units,
)
from batchinfer.models.ocr.result import (
    AnalyzeResult,
    BoundingRegion,
    Line,
    Page,
    Paragraph,
    Span,
    Table,
    TableCell,
)

ENGLISH = "The annual report describes how the company grew its business in every region."
ENGLISH_2 = "Revenue rose in the second half of the year, driven by new customers."
FRENCH = "Le rapport annuel décrit comment la société a développé ses activités."
GERMAN = "Der Jahresbericht beschreibt, wie das Unternehmen sein Geschäft ausgebaut hat."
SPANISH = "El informe anual describe cómo la empresa hizo crecer su negocio en cada región."
SIMPLIFIED = "我们这个国家的经济发展很快，学生们对新技术很感兴趣。"
TRADITIONAL = "我們這個國家的經濟發展很快，學生們對新技術很感興趣。"
JAPANESE = "これは日本語で書かれた文章です。私たちは毎日学校に行きます。"
KOREAN = "이것은 한국어로 쓰여진 문장입니다. 우리는 매일 학교에 갑니다."
RUSSIAN = "Годовой отчёт описывает, как компания развивала свой бизнес во всех регионах."


def _document(blocks: list[str], separator: str = "\n") -> AnalyzeResult:
    """A result whose paragraphs are `blocks` (lines split on "\\n"), as the pipelines write."""
    content = ""
    page = Page(1, 0.0, 1000.0, 1000.0, "pixel")
    paragraphs = []
    for block in blocks:
        if content:
            content += separator
        start = len(content)
        for n, line in enumerate(block.split("\n")):
            if n:
                content += "\n"
            page.lines.append(Line(line, [0.0] * 8, [Span(len(content), len(line))]))
            content += line
        paragraphs.append(
            Paragraph(block, [Span(start, len(content) - start)], [BoundingRegion(1, [0.0] * 8)])
        )
    page.spans.append(Span(0, len(content)))
    return AnalyzeResult("prebuilt-read", content, [page], paragraphs=paragraphs)


def _texts(body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    content = body["content"]
    return [
        (
            entry["locale"],
            [content[s["offset"] : s["offset"] + s["length"]] for s in entry["spans"]],
        )
        for entry in body["languages"]
    ]


def test_each_language_gets_its_own_span_and_locale() -> None:
    result = _document([ENGLISH, FRENCH, GERMAN, SPANISH])
    result.languages = detect_languages(result)
    body = result.to_json()
    assert _texts(body) == [
        ("en", [ENGLISH]),
        ("fr", [FRENCH]),
        ("de", [GERMAN]),
        ("es", [SPANISH]),
    ]
    assert all(0.5 < entry["confidence"] <= 1.0 for entry in body["languages"])


def test_consecutive_paragraphs_of_one_language_are_one_run() -> None:
    result = _document([ENGLISH, ENGLISH_2 + "\n" + ENGLISH, FRENCH])
    (english, french) = detect_languages(result)
    assert english["locale"] == "en" and french["locale"] == "fr"
    # one span over both paragraphs: only the "\n" between them was in the way
    assert english["spans"] == [{"offset": 0, "length": len(ENGLISH) * 2 + len(ENGLISH_2) + 2}]


def test_short_text_takes_the_language_around_it() -> None:
    # a one-word heading and a page number cannot be identified alone
    result = _document(["Introduction", ENGLISH, "42", ENGLISH_2, "Résumé", FRENCH])
    languages = detect_languages(result)
    assert [entry["locale"] for entry in languages] == ["en", "fr"]
    content = result.content
    (english,) = languages[0]["spans"]
    assert content[english["offset"] : english["offset"] + english["length"]].startswith(
        "Introduction\n"
    )
    assert content[english["offset"] + english["length"] - len(ENGLISH_2) :].startswith(ENGLISH_2)
    (french,) = languages[1]["spans"]
    assert content[french["offset"] :] == "Résumé\n" + FRENCH


def test_a_short_line_in_another_script_is_not_absorbed() -> None:
    result = _document([ENGLISH, "概要说明", ENGLISH_2])
    assert [entry["locale"] for entry in detect_languages(result)] == ["en", "zh-Hans", "en"]


@pytest.mark.parametrize(
    "text, locale",
    [
        (SIMPLIFIED, "zh-Hans"),
        (TRADITIONAL, "zh-Hant"),
        (JAPANESE, "ja"),
        (KOREAN, "ko"),
        (RUSSIAN, "ru"),
    ],
)
def test_service_locale_tags_for_other_scripts(text: str, locale: str) -> None:
    (entry,) = detect_languages(_document([text]))
    assert entry["locale"] == locale
    assert entry["spans"] == [{"offset": 0, "length": len(text)}]


def test_script_tags() -> None:
    assert service_locale("sr", "Брза смеђа лисица") == "sr-Cyrl"
    assert service_locale("sr", "Brza smeđa lisica") == "sr-Latn"
    assert service_locale("de", GERMAN) == "de"
    assert script_and_letters("abc 12") == ("latin", 3)
    assert script_and_letters("日本") == ("cjk", 6)


def test_table_cells_and_stray_lines_are_units_too() -> None:
    result = _document([ENGLISH])
    start = len(result.content) + 1
    cell_text = GERMAN
    stray = FRENCH
    result.content += "\n" + cell_text + "\n" + stray
    cell_span = Span(start, len(cell_text))
    stray_span = Span(start + len(cell_text) + 1, len(stray))
    page = result.pages[0]
    page.lines += [Line(cell_text, [0.0] * 8, [cell_span]), Line(stray, [0.0] * 8, [stray_span])]
    region = [BoundingRegion(1, [0.0] * 8)]
    result.tables = [Table(1, 1, [TableCell(0, 0, cell_text, [cell_span], region)], [], region)]
    units = text_units(result)
    assert [u.text for u in units] == [ENGLISH, cell_text, stray]  # the cell's line once
    assert [e["locale"] for e in detect_languages(result)] == ["en", "de", "fr"]


def test_spans_follow_the_string_index_type() -> None:
    emoji = "Greetings 👋🏽 from the team, who wrote this report about the last year."
    result = _document([emoji, FRENCH])
    result.string_index_type = "utf16CodeUnit"
    result.languages = detect_languages(result)
    body = result.to_json()
    french = body["languages"][-1]
    assert french["locale"] == "fr"
    utf16 = body["content"].encode("utf-16-le")
    (span,) = french["spans"]
    text = utf16[2 * span["offset"] : 2 * (span["offset"] + span["length"])].decode("utf-16-le")
    assert text == FRENCH
    assert span["offset"] == len(emoji) + 2 + 1  # two astral code points, two units each


def test_markdown_separators_split_spans_but_not_runs() -> None:
    result = _document([ENGLISH, ENGLISH_2], separator="\n\n<!-- PageBreak -->\n\n")
    (english,) = detect_languages(result)
    assert english["locale"] == "en" and len(english["spans"]) == 2


def test_text_without_letters_has_no_language() -> None:
    assert detect_languages(_document(["12.5%", "2024-11-30"])) == []
    assert detect_languages(_document([])) == []
