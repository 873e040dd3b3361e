"""Analysis options: parsed once, honoured by the model or refused with the service's 400."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from batchinfer.activities.documents import result_name_for
from batchinfer.api.document_intelligence.requests import analysis_options
from batchinfer.api.document_intelligence.schemas import AnalyzeBatchDocumentsRequest
from batchinfer.errors import InvalidRequestError
from batchinfer.inference.registry import build_default_registry
from batchinfer.models.ocr.errors import InvalidPagesError
from batchinfer.models.ocr.options import (
    AnalyzeOptions,
    OptionError,
    parse_options,
    parse_pages,
)
from batchinfer.models.ocr.result import index_converter, reindex_spans

SERVICES = SimpleNamespace(registry=build_default_registry())


def _request(**extra: Any) -> AnalyzeBatchDocumentsRequest:
    return AnalyzeBatchDocumentsRequest.model_validate(
        {
            "azureBlobSource": {"containerUrl": "file:///x"},
            "resultContainerUrl": "file:///y",
            **extra,
        }
    )


class TestPages:
    def test_ranges_and_single_pages(self) -> None:
        pages = parse_pages("1-3, 5,7-9")
        assert [n for n in range(1, 11) if n in pages] == [1, 2, 3, 5, 7, 8, 9]
        assert pages.last == 9 and pages.text() == "1-3,5,7-9"

    @pytest.mark.parametrize("text", ["", "0", "3-1", "a", "1-", "1,,2", "-2"])
    def test_malformed_is_refused(self, text: str) -> None:
        with pytest.raises(OptionError) as info:
            parse_pages(text)
        assert info.value.parameter == "pages"

    def test_out_of_range_is_the_services_invalid_parameter(self) -> None:
        parse_pages("2-9").check_within(2)  # a range running past the end is fine
        with pytest.raises(InvalidPagesError) as info:
            parse_pages("1,3").check_within(2)
        assert info.value.code == "InvalidArgument"
        assert info.value.inner_code == "InvalidParameter"
        assert "page 3" in (info.value.inner_message or "")


class TestOptions:
    def test_defaults(self) -> None:
        options = parse_options({}, ())
        assert options == AnalyzeOptions()
        assert options.string_index_type == "textElements" and options.content_format == "text"

    def test_round_trip_through_the_job_store(self) -> None:
        options = parse_options(
            {
                "pages": "1-2",
                "locale": "en-US",
                "stringIndexType": "utf16codeunit",
                "outputContentFormat": "Markdown",
                "features": "ocrHighResolution",
            },
            ("ocrHighResolution",),
        )
        assert options.string_index_type == "utf16CodeUnit"
        assert options.content_format == "markdown"
        assert AnalyzeOptions.from_json(options.to_json()) == options

    @pytest.mark.parametrize(
        "raw, parameter",
        [
            ({"stringIndexType": "bytes"}, "stringIndexType"),
            ({"outputContentFormat": "html"}, "outputContentFormat"),
            ({"locale": "not a locale"}, "locale"),
            ({"features": ["noSuchFeature"]}, "features"),
            ({"features": ["barcodes"]}, "features"),  # known, but this model can't
            ({"queryFields": ["Total"]}, "queryFields"),
            ({"output": ["figures"]}, "output"),
            ({"pages": 3}, "pages"),
        ],
    )
    def test_what_cannot_be_honoured_is_refused(self, raw: dict[str, Any], parameter: str) -> None:
        with pytest.raises(OptionError) as info:
            parse_options(raw, ("ocrHighResolution",), "prebuilt-read", ("text",))
        assert info.value.parameter == parameter
        assert info.value.message


class TestRequestOptions:
    def test_query_parameters_as_the_official_client_sends_them(self) -> None:
        options = analysis_options(
            SERVICES,
            "prebuilt-read",
            _request(),
            {
                "api-version": "2024-11-30",
                "pages": "1",
                "features": "ocrHighResolution",
                "locale": "fr",
            },
        )
        assert options.pages is not None and 1 in options.pages
        assert options.features == {"ocrHighResolution"} and options.locale == "fr"

    @pytest.mark.parametrize("model_id", ["prebuilt-read", "prebuilt-layout"])
    def test_languages_and_barcodes_are_honoured(self, model_id: str) -> None:
        options = analysis_options(
            SERVICES, model_id, _request(), {"features": "languages,Barcodes"}
        )
        assert options.features == {"languages", "barcodes"}
        assert AnalyzeOptions.from_json(options.to_json()) == options

    def test_body_fields_too(self) -> None:
        options = analysis_options(SERVICES, "prebuilt-read", _request(pages="2-3"))
        assert options.pages is not None and options.pages.text() == "2-3"

    @pytest.mark.parametrize(
        "query, extra",
        [
            ({"features": "formulas"}, {}),
            ({"features": "languages,styleFont"}, {}),  # one feature it can't honour is enough
            ({"outputContentFormat": "markdown"}, {}),  # prebuilt-read writes text only
            ({}, {"pagez": "1"}),  # a misspelt option is not silently ignored
        ],
    )
    def test_refusals_are_400_in_the_services_error_shape(
        self, query: dict[str, str], extra: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidRequestError) as info:
            analysis_options(SERVICES, "prebuilt-read", _request(**extra), query)
        assert info.value.http_status == 400
        assert info.value.code == "InvalidArgument"
        assert info.value.inner_code == "InvalidParameter" and info.value.inner_message


class TestResultNames:
    @pytest.mark.parametrize(
        "prefix, expected",
        [
            ("res-", "res-a/b.png.ocr.json"),
            ("results/", "results/a/b.png.ocr.json"),
            ("", "a/b.png.ocr.json"),
        ],
    )
    def test_result_prefix_is_a_string_prefix(self, prefix: str, expected: str) -> None:
        assert result_name_for("in/a/b.png", "in/", prefix) == expected


class TestStringIndexTypes:
    CONTENT = "e\u0301t\u00e9 \U0001f600 x"  # decomposed é, composed é, an emoji

    def _span(self, kind: str, start: int, end: int) -> dict[str, int]:
        body = {"spans": [{"offset": start, "length": end - start}]}
        reindex_spans(body, index_converter(self.CONTENT, kind))
        return body["spans"][0]

    def test_utf16_counts_surrogate_pairs_twice(self) -> None:
        x = self.CONTENT.index("x")
        assert self._span("utf16CodeUnit", x, x + 1) == {"offset": x + 1, "length": 1}

    def test_text_elements_count_a_base_and_its_marks_once(self) -> None:
        x = self.CONTENT.index("x")
        assert self._span("textElements", 0, 2) == {"offset": 0, "length": 1}
        assert self._span("textElements", x, x + 1) == {"offset": x - 1, "length": 1}
