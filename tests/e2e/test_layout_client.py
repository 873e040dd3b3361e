"""`prebuilt-layout` and the analysis options through the unmodified official client.

`begin_analyze_batch_documents("prebuilt-layout", ...)` runs against the host with data in
Azurite; every result file (layout text, layout markdown, read) is read back with the SDK's own
`AnalyzeResult` model, and every field we write must be one the SDK knows and types.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import (
    AnalyzeBatchDocumentsRequest,
    AnalyzeResult,
    AzureBlobContentSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from batchinfer.models.layout.synthetic import make_form_page, make_page
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, REPO_ROOT, Azurite
from tests.support.host import HostProcess

pytestmark = pytest.mark.azurite

POLL = 0.2


@dataclass
class Setup:
    client: DocumentIntelligenceClient
    blob_endpoint: str
    inputs: ContainerClient
    results: ContainerClient

    def sas_url(self, container: ContainerClient) -> str:
        sas = generate_container_sas(
            account_name=DEV_ACCOUNT,
            container_name=container.container_name,
            account_key=DEV_KEY,
            expiry=datetime.now(UTC) + timedelta(hours=1),
            permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
        )
        return f"{self.blob_endpoint}/{container.container_name}?{sas}"

    def request(self, result_prefix: str, source: str = "docs/") -> AnalyzeBatchDocumentsRequest:
        return AnalyzeBatchDocumentsRequest(
            azure_blob_source=AzureBlobContentSource(
                container_url=self.sas_url(self.inputs), prefix=source
            ),
            result_container_url=self.sas_url(self.results),
            result_prefix=result_prefix,
        )

    def result_file(self, name: str) -> dict[str, Any]:
        return json.loads(self.results.download_blob(name).readall())


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("layoutclient")
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    suffix = uuid.uuid4().hex[:12]
    inputs = service.create_container(f"layoutin{suffix}")
    results = service.create_container(f"layoutout{suffix}")
    pages = [make_page(seed=40 + n, number=n + 1) for n in range(2)]
    pdf = io.BytesIO()
    pages[0].image.save(
        pdf, format="PDF", resolution=150.0, save_all=True, append_images=[pages[1].image]
    )
    inputs.upload_blob("docs/report.pdf", pdf.getvalue())
    form = io.BytesIO()
    make_form_page(5).image.save(form, format="PNG")
    inputs.upload_blob("forms/form.png", form.getvalue())
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    client = DocumentIntelligenceClient(
        endpoint=f"{host.base_url}/api", credential=AzureKeyCredential("any")
    )
    try:
        yield Setup(client, azurite.blob_endpoint, inputs, results)
    finally:
        client.close()
        code = host.stop()
        inputs.delete_container()
        results.delete_container()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


def assert_sdk_reads_every_field(model: Any, data: dict[str, Any], path: str = "") -> None:
    """Every key of `data` is a field of the SDK model, typed (nested models, not raw dicts)."""
    fields = {f._rest_name: attr for attr, f in type(model)._attr_to_rest_field.items()}
    for key, value in data.items():
        where = f"{path}.{key}"
        assert key in fields, f"{where} is not a field of {type(model).__name__}"
        got = getattr(model, fields[key])
        assert got is not None, where
        if isinstance(value, dict):
            assert not isinstance(got, dict), f"{where} was left untyped"
            assert_sdk_reads_every_field(got, value, where)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert len(got) == len(value)
            for n, (item, raw) in enumerate(zip(got, value, strict=True)):
                assert not isinstance(item, dict), f"{where}[{n}] was left untyped"
                assert_sdk_reads_every_field(item, raw, f"{where}[{n}]")
        else:
            assert got == value, where


def _run(setup: Setup, model_id: str, prefix: str, source: str = "docs/", **options: Any) -> Any:
    poller = setup.client.begin_analyze_batch_documents(
        model_id=model_id, body=setup.request(prefix, source), polling_interval=POLL, **options
    )
    result = poller.result(timeout=300)
    assert poller.status().lower() == "succeeded"
    return result


def test_layout_batch_with_the_official_client(setup: Setup) -> None:
    result = _run(setup, "prebuilt-layout", "layout/")
    assert (result.succeeded_count, result.failed_count) == (1, 0)
    assert result.details[0].result_url.endswith("/layout/report.pdf.ocr.json")
    body = setup.result_file("layout/report.pdf.ocr.json")
    analyzed = AnalyzeResult(body)
    assert_sdk_reads_every_field(analyzed, body)
    assert analyzed.model_id == "prebuilt-layout" and analyzed.content_format == "text"
    assert len(analyzed.pages) == 2 and len(analyzed.tables) == 2 and len(analyzed.figures) == 2
    assert any(c.column_span == 2 for c in analyzed.tables[0].cells)
    roles = {p.role for p in analyzed.paragraphs if p.role}
    assert {"title", "sectionHeading", "pageHeader", "pageNumber"} <= roles
    assert analyzed.sections and analyzed.styles == []
    assert [page.selection_marks for page in analyzed.pages] == [[], []]


def test_selection_marks_through_the_client(setup: Setup) -> None:
    _run(setup, "prebuilt-layout", "forms-out/", source="forms/")
    body = setup.result_file("forms-out/form.png.ocr.json")
    analyzed = AnalyzeResult(body)
    assert_sdk_reads_every_field(analyzed, body)
    marks = analyzed.pages[0].selection_marks
    expected = make_form_page(5).marks
    assert len(marks) == len(expected)
    assert sorted(m.state for m in marks) == sorted(m.state for m in expected)
    for mark in marks:
        token = analyzed.content[mark.span.offset : mark.span.offset + mark.span.length]
        assert token in (":selected:", ":unselected:") and token.strip(":") == mark.state
        assert len(mark.polygon) == 8 and mark.confidence > 0.5


def test_markdown_and_pages_through_the_client(setup: Setup) -> None:
    _run(
        setup,
        "prebuilt-layout",
        "md-",
        output_content_format="markdown",
        pages="2",
        string_index_type="utf16CodeUnit",
    )
    body = setup.result_file("md-report.pdf.ocr.json")  # resultPrefix is a string prefix
    analyzed = AnalyzeResult(body)
    assert_sdk_reads_every_field(analyzed, body)
    assert analyzed.content_format == "markdown" and analyzed.string_index_type == "utf16CodeUnit"
    assert [p.page_number for p in analyzed.pages] == [2]
    assert "<table>" in analyzed.content and "<!-- PageNumber=" in analyzed.content


def test_read_results_are_read_whole_by_the_client(setup: Setup) -> None:
    _run(setup, "prebuilt-read", "read/", pages="1", features=["ocrHighResolution"])
    body = setup.result_file("read/report.pdf.ocr.json")
    analyzed = AnalyzeResult(body)
    assert_sdk_reads_every_field(analyzed, body)
    assert analyzed.paragraphs and analyzed.content_format == "text"


@pytest.mark.parametrize(
    "model_id, options, detail",
    [
        ("prebuilt-layout", {"features": ["formulas"]}, "formulas"),
        ("prebuilt-read", {"features": ["barcodes", "keyValuePairs"]}, "keyValuePairs"),
        ("prebuilt-read", {"output_content_format": "markdown"}, "outputContentFormat"),
        ("prebuilt-layout", {"pages": "3-1"}, "pages"),
        ("prebuilt-layout", {"query_fields": ["Total"]}, "queryFields"),
    ],
)
def test_options_a_model_cannot_honour_are_400(
    setup: Setup, model_id: str, options: dict[str, Any], detail: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        setup.client.begin_analyze_batch_documents(
            model_id=model_id, body=setup.request("never/"), **options
        )
    assert info.value.status_code == 400
    assert info.value.error is not None and info.value.error.code == "InvalidArgument"
    inner = info.value.response.json()["error"]["innererror"]
    assert inner["code"] == "InvalidParameter" and detail in inner["message"]
    assert not list(setup.results.list_blobs(name_starts_with="never/"))


def test_a_page_past_the_end_fails_that_document(setup: Setup) -> None:
    result = _run(setup, "prebuilt-layout", "past/", pages="5")
    assert (result.succeeded_count, result.failed_count) == (0, 1)
    error = result.details[0].error
    assert error.code == "InvalidArgument"
    inner = error.innererror if isinstance(error.innererror, dict) else error.innererror.as_dict()
    assert inner["code"] == "InvalidParameter" and "page 5" in inner["message"]


def _addon_page() -> bytes:
    """A PNG with an English and a French paragraph and a QR code."""
    import numpy as np
    import zxingcpp
    from PIL import Image, ImageDraw

    from batchinfer.models.layout.synthetic import font

    image = Image.new("RGB", (1100, 900), "white")
    draw = ImageDraw.Draw(image)
    lines = [
        "The annual report describes how the company grew",
        "its business in every region during the last year.",
        "",
        "Le rapport annuel explique comment la société a",
        "développé ses activités dans toutes les régions.",
    ]
    for n, line in enumerate(lines):
        draw.text((60, 60 + 45 * n), line, font=font(26), fill="black")
    qr = zxingcpp.create_barcode("https://example.com/e2e", zxingcpp.BarcodeFormat.QRCode)
    symbol = np.asarray(zxingcpp.write_barcode_to_image(qr, scale=6))
    image.paste(Image.fromarray(symbol).convert("RGB"), (700, 500))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("model_id", ["prebuilt-read", "prebuilt-layout"])
def test_languages_and_barcodes_through_the_client(setup: Setup, model_id: str) -> None:
    setup.inputs.upload_blob("addons/page.png", _addon_page(), overwrite=True)
    request = AnalyzeBatchDocumentsRequest(
        azure_blob_source=AzureBlobContentSource(
            container_url=setup.sas_url(setup.inputs), prefix="addons/"
        ),
        result_container_url=setup.sas_url(setup.results),
        result_prefix=f"addons-{model_id}/",
        overwrite_existing=True,
    )
    poller = setup.client.begin_analyze_batch_documents(
        model_id=model_id,
        body=request,
        features=["languages", "barcodes"],
        polling_interval=POLL,
    )
    result = poller.result(timeout=300)
    assert (result.succeeded_count, result.failed_count) == (1, 0)
    body = setup.result_file(f"addons-{model_id}/page.png.ocr.json")
    analyzed = AnalyzeResult(body)
    assert_sdk_reads_every_field(analyzed, body)
    assert [language.locale for language in analyzed.languages] == ["en", "fr"]
    for language in analyzed.languages:
        (span,) = language.spans
        text = analyzed.content[span.offset : span.offset + span.length]
        assert text in [p.content for p in analyzed.paragraphs]
        assert 0 < language.confidence <= 1
    (barcode,) = analyzed.pages[0].barcodes
    assert (barcode.kind, barcode.value) == ("QRCode", "https://example.com/e2e")
    assert barcode.polygon[:2] == pytest.approx([724, 524], abs=2)  # past its quiet zone
    span = barcode.span
    assert analyzed.content[span.offset : span.offset + span.length] == ":barcode:"
