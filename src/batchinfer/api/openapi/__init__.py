"""OpenAPI 3.1 for every HTTP function the app registers, generated, never written by hand.

Routes declare what they accept and answer with `@operation(...)` (pydantic models or plain
JSON Schema); routes that declare nothing still appear, with generic schemas. See `spec.py`.
"""

from batchinfer.api.openapi.spec import Operation, operation

__all__ = ["Operation", "operation"]
