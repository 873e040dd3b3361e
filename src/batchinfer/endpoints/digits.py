"""The sample endpoint's model and data: scikit-learn's handwritten digits, 8×8 grey images.

Why this data: it ships inside scikit-learn (no download), and classifying digit images is what
Azure ML's batch endpoint walkthrough does with MNIST. The classifier (logistic regression) is
trained on the first `TRAIN_ROWS` images, exported to ONNX with its task declared in the
model's metadata, and the rest are rendered as PNG files, the sample input folder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_ROWS = 1200
PIXEL_MAX = 16.0  # load_digits pixels are 0..16; a white PNG pixel (255) maps back to 16
MODEL_FILE = "digits.onnx"


@dataclass(frozen=True)
class DigitImage:
    name: str
    label: int
    png: bytes


def load_digits_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32), data.target.astype(np.int64)


def train_digits_onnx() -> bytes:
    """Fit the classifier and return its ONNX bytes (outputs `label` and `probabilities`)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    images, labels = load_digits_data()
    features = images.reshape(len(images), -1)[:TRAIN_ROWS]
    model = LogisticRegression(max_iter=5000).fit(features, labels[:TRAIN_ROWS])
    onnx_model = to_onnx(
        model, features[:1], target_opset=17, options={id(model): {"zipmap": False}}
    )
    for key, value in {
        "task": "image-classification",
        "pixel_max": str(PIXEL_MAX),
        "labels": ",".join(str(i) for i in range(10)),
        "description": "sklearn load_digits, 8x8 grey, logistic regression",
    }.items():
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = key, value
    serialized: bytes = onnx_model.SerializeToString()
    return serialized


def png_of(image: np.ndarray) -> bytes:
    """An 8×8 digit (0..16) as a greyscale PNG (0..255)."""
    pixels = np.clip(np.rint(image * (255.0 / PIXEL_MAX)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def digit_images(count: int | None = None) -> list[DigitImage]:
    """The held-out digits as PNGs; `count` beyond the held-out set cycles through it."""
    images, labels = load_digits_data()
    held = range(TRAIN_ROWS, len(images))
    total = len(held) if count is None else count
    return [
        DigitImage(
            f"digit-{i:05d}.png",
            int(labels[held[i % len(held)]]),
            png_of(images[held[i % len(held)]]),
        )
        for i in range(total)
    ]


def write_digit_folder(folder: Path, count: int | None = None) -> list[DigitImage]:
    """Write the PNGs into `folder` (existing files kept) and return what they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    digits = digit_images(count)
    for digit in digits:
        path = folder / digit.name
        if not path.exists():
            path.write_bytes(digit.png)
    return digits


SAMPLE_ENDPOINT = "digits"
SAMPLE_DEPLOYMENT = "classifier"
SAMPLE_MODEL = "digits-classifier"
SAMPLE_INPUT_FOLDER = "digits"  # on workspaceblobstore, i.e. <data root>/storage/digits
SAMPLE_MODEL_PATH = "models/digits-classifier/1/digits.onnx"
SAMPLE_LABELS_FILE = "digits-labels.csv"


def install_sample_endpoint(data_root: Path) -> dict[str, str]:
    """Model file, sample images, labels and the `digits` endpoint in the local workspace.

    Idempotent: files that exist are kept and registered resources are not replaced, so a
    user's edits survive `make run`. Returns what was set up, for the CLI to print.
    """
    from batchinfer.endpoints.workspace import DEPLOYMENTS, ENDPOINTS, MODELS, WorkspaceStore
    from batchinfer.storage.local import LocalFolderStore

    storage = data_root.resolve() / "storage"
    model_file = storage / SAMPLE_MODEL_PATH
    if not model_file.exists():
        model_file.parent.mkdir(parents=True, exist_ok=True)
        model_file.write_bytes(train_digits_onnx())
    digits = write_digit_folder(storage / SAMPLE_INPUT_FOLDER)
    labels = storage / SAMPLE_LABELS_FILE
    if not labels.exists():
        labels.write_text("".join(f"{d.name},{d.label}\n" for d in digits))
    folder = data_root.resolve() / "workspace"
    folder.mkdir(parents=True, exist_ok=True)
    store = WorkspaceStore(LocalFolderStore(folder))
    if store.get(MODELS, f"{SAMPLE_MODEL}/1") is None:
        store.put(
            MODELS,
            f"{SAMPLE_MODEL}/1",
            {
                "modelUri": f"azureml://datastores/workspaceblobstore/paths/{SAMPLE_MODEL_PATH}",
                "modelType": "custom_model",
                "description": "Handwritten digits (scikit-learn load_digits), ONNX",
                "properties": {"task": "image-classification"},
            },
        )
    model_id = (
        "/subscriptions/local/resourceGroups/local/providers/"
        f"Microsoft.MachineLearningServices/workspaces/local/models/{SAMPLE_MODEL}"
        "/versions/1"
    )
    if store.get(ENDPOINTS, SAMPLE_ENDPOINT) is None:
        store.put(
            ENDPOINTS,
            SAMPLE_ENDPOINT,
            {
                "authMode": "AADToken",
                "description": "Digit images → predicted digit",
                "defaults": {"deploymentName": SAMPLE_DEPLOYMENT},
            },
        )
    if store.get(DEPLOYMENTS, f"{SAMPLE_ENDPOINT}/{SAMPLE_DEPLOYMENT}") is None:
        store.put(
            DEPLOYMENTS,
            f"{SAMPLE_ENDPOINT}/{SAMPLE_DEPLOYMENT}",
            {
                "model": {"referenceType": "Id", "assetId": model_id},
                # 8x8 PNGs are ~100 bytes: 100 per activity amortises the ~10 ms an activity costs
                "miniBatchSize": 100,
                "maxConcurrencyPerInstance": 1,
                "errorThreshold": -1,
                "retrySettings": {"maxRetries": 3, "timeout": "PT30S"},
                "outputAction": "AppendRow",
                "outputFileName": "predictions.csv",
                "loggingLevel": "Info",
            },
        )
    return {
        "endpoint": SAMPLE_ENDPOINT,
        "deployment": SAMPLE_DEPLOYMENT,
        "images": str(storage / SAMPLE_INPUT_FOLDER),
        "count": str(len(digits)),
        "model": str(model_file),
    }
