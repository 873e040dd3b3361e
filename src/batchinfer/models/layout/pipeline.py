"""`prebuilt-layout`: bytes in, AnalyzeResult with paragraphs and roles, tables, figures,
selection marks and sections out, as text or markdown.

Per page: the read model's lines (PP-OCR, shared sessions), selection marks (`marks`: image
processing, no model), layout regions (PicoDet/CDLA), table structure for each table region
(SLANet-plus), then our own assembly (`blocks`, `placement`, `render`). All graphs run
through the shared `SessionCache` (CUDA when present).
"""

from __future__ import annotations

from batchinfer.inference.runtime import InferenceSessionPort, SessionSource, default_session_cache
from batchinfer.models.addons import ADDON_FEATURES
from batchinfer.models.layout.assets import LayoutModelFiles, layout_model_files
from batchinfer.models.layout.blocks import body_height, plan_page
from batchinfer.models.layout.marks import MarkSettings, page_marks
from batchinfer.models.layout.regions import RegionSettings, detect_regions, labels_of
from batchinfer.models.layout.render import DocumentBuilder
from batchinfer.models.layout.tables import TableStructure, recognize_table, tokens_of
from batchinfer.models.ocr.decode import iter_pages
from batchinfer.models.ocr.layout import page_angle, text_lines
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import OcrPipeline, OcrSettings, PageFrame
from batchinfer.models.ocr.result import AnalyzeResult, Page

MODEL_ID = "prebuilt-layout"
FEATURES = frozenset({"ocrHighResolution"}) | ADDON_FEATURES
CONTENT_FORMATS = ("text", "markdown")


class LayoutPipeline:
    """The layout model; reuses the read model's sessions and settings for text."""

    model_id = MODEL_ID
    features = FEATURES
    content_formats = CONTENT_FORMATS

    def __init__(
        self,
        sessions: SessionSource | None = None,
        settings: OcrSettings | None = None,
        files: LayoutModelFiles | None = None,
        regions: RegionSettings | None = None,
        marks: MarkSettings | None = None,
    ) -> None:
        source = sessions if sessions is not None else default_session_cache()
        self.ocr = OcrPipeline(source, settings)
        self.files = files or layout_model_files()
        self.region_settings = regions or RegionSettings()
        self.mark_settings = marks or MarkSettings()
        self.layout: InferenceSessionPort = source.get(self.files.regions)
        self.table: InferenceSessionPort = source.get(self.files.table)
        self.labels = labels_of(self.layout)
        self.tokens = tokens_of(self.table)

    @property
    def providers(self) -> dict[str, str]:
        return {**self.ocr.providers, "layout": self.layout.provider, "table": self.table.provider}

    def analyze(
        self, data: bytes, filename: str = "", options: AnalyzeOptions | None = None
    ) -> AnalyzeResult:
        """Analyze the (selected) pages. Raises `DocumentError` subclasses for bad input."""
        options = options or AnalyzeOptions()
        settings = self.ocr.settings_for(options)
        builder = DocumentBuilder(markdown=options.content_format == "markdown")
        pages: list[Page] = []
        for image in iter_pages(data, filename, settings.limits, options.pages):
            read = self.ocr.read_lines(image.rgb, settings, self.ocr.scripts_for(options))
            angle = page_angle(read)
            frame = PageFrame.of(image, settings.pdf_unit)
            page = frame.new_page(image, angle)
            page.selection_marks = []
            lines = text_lines(read, angle)
            marks, lines = page_marks(
                image.rgb, lines, angle, body_height(lines), self.mark_settings
            )
            regions = detect_regions(self.layout, image.rgb, self.labels, self.region_settings)
            tables: dict[int, TableStructure] = {}
            for index, region in enumerate(regions):
                if region.label == "table":
                    structure = recognize_table(self.table, image.rgb, region.box, self.tokens)
                    if structure is not None:
                        tables[index] = structure
            blocks = plan_page(
                lines, regions, tables, image.height, angle, first_page=not pages, marks=marks
            )
            builder.write_page(page, blocks, frame)
            if "barcodes" in options.features:
                from batchinfer.models.addons.barcodes import add_page_barcodes  # circular

                add_page_barcodes(builder.writer, page, image.rgb, frame.scale, frame.digits)
            pages.append(page)
        result = AnalyzeResult(
            model_id=self.model_id,
            content=builder.writer.text,
            pages=pages,
            string_index_type=options.string_index_type,
            content_format=options.content_format,
            paragraphs=builder.paragraphs,
            tables=builder.tables,
            figures=builder.figures,
            sections=builder.sections(),
            styles=[],
        )
        if "languages" in options.features:
            from batchinfer.models.addons.languages import detect_languages  # circular

            result.languages = detect_languages(result)
        return result
