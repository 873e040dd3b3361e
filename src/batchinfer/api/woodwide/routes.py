"""The dataset inference API's blueprint: importing the route modules registers their routes.

Routes, under the app's route prefix (client base URL `http://host:7071/api/woodwide`):
datasets (create, upload + complete, list, get/patch/delete, versions, preview, rows:lookup,
models), models (train, list, get/delete, versions, infer, infer-async, infer-batch), jobs
(get, list, cancel, retry, results, results/rows) and the signed upload/download URLs.
"""

from batchinfer.api.woodwide import datasets, jobs, models  # noqa: F401 - registers routes
from batchinfer.api.woodwide.common import blueprint

__all__ = ["blueprint"]
