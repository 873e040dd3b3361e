"""Serverless batch inference on Azure Durable Functions: the product package.

Cut by capability: jobs and reports, orchestration, activities, the inference runtime and model
registry, storage, and one module per API dialect under `api/`.
"""

__version__ = "0.1.0"
