"""Recognition batches: a crop's padded width is its own, batches respect the column budget,
and the batch size comes from `BATCHINFER_OCR_BATCH_SIZE`."""

from __future__ import annotations

from batchinfer.models.ocr.pipeline import OcrSettings
from batchinfer.models.ocr.recognize import RecognitionSettings, _batches, _input_width


def test_padded_width_depends_on_the_crop_only() -> None:
    settings = RecognitionSettings()
    assert _input_width(2.0, settings) == 320  # short crops pad to the trained width
    assert _input_width(1000 / 48, settings) == 1024  # 1000 columns, rounded up to 32
    assert _input_width(500.0, settings) == 3200  # very long lines are squeezed


def test_batches_hold_one_width_within_the_column_budget() -> None:
    settings = RecognitionSettings(batch_size=4)  # 1280 columns
    widths = [320, 320, 320, 320, 320, 640, 640, 640, 2048]
    order = sorted(range(len(widths)), key=lambda i: (widths[i], i))
    batches = _batches(order, widths, settings)
    assert batches == [([0, 1, 2, 3], 320), ([4], 320), ([5, 6], 640), ([7], 640), ([8], 2048)]
    for members, width in batches:
        assert all(widths[i] == width for i in members)
        assert len(members) == 1 or len(members) * width <= settings.batch_columns


def test_batch_size_setting() -> None:
    assert OcrSettings.from_env({}).recognition.batch_size == RecognitionSettings().batch_size
    big = OcrSettings.from_env({"BATCHINFER_OCR_BATCH_SIZE": "64"}).recognition
    assert (big.batch_size, big.batch_columns) == (64, 64 * 320)
    for bad in ("0", "-3", "many"):
        ignored = OcrSettings.from_env({"BATCHINFER_OCR_BATCH_SIZE": bad})
        assert ignored.recognition.batch_size == RecognitionSettings().batch_size
