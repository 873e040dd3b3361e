"""Request bodies of the Azure ML batch endpoint API (pydantic, at the edge only).

ARM bodies are camelCase; the REST walkthrough's invoke uses PascalCase (`InputData`,
`JobInputType`, `Uri`); `azure-ai-ml` sends some nested settings in snake_case
(`retrySettings.max_retries`). Every field accepts all three spellings. Unknown fields are
ignored, as ARM ignores read-only ones sent back by a GET-modify-PUT.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict, Field, field_validator

from batchinfer.endpoints.config import parse_timeout


def _spellings(name: str) -> AliasChoices:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return AliasChoices(name, name[0].upper() + name[1:], snake)


class ArmModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_spellings),
    )


class RetrySettings(ArmModel):
    maxRetries: int | None = Field(default=None, ge=0, le=100)
    timeout: str | int | float | None = None

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None:
            parse_timeout(value)
        return value


def _upper_camel(value: Any) -> Any:
    """`uri_folder` / `urifolder` / `UriFolder` → `UriFolder`."""
    if not isinstance(value, str):
        return value
    known = {
        "urifolder": "UriFolder",
        "urifile": "UriFile",
        "literal": "Literal",
        "appendrow": "AppendRow",
        "summaryonly": "SummaryOnly",
        "mltable": "MLTable",
        "custommodel": "CustomModel",
        "mlflowmodel": "MLFlowModel",
    }
    return known.get(value.replace("_", "").lower(), value)


class JobInput(ArmModel):
    jobInputType: Literal[
        "UriFolder", "UriFile", "Literal", "MLTable", "CustomModel", "MLFlowModel"
    ]
    uri: str | None = None
    value: Any = None
    mode: str | None = None

    _kind = field_validator("jobInputType", mode="before")(lambda cls, v: _upper_camel(v))


class JobOutput(ArmModel):
    jobOutputType: Literal["UriFile", "UriFolder"]
    uri: str | None = None
    mode: str | None = None

    _kind = field_validator("jobOutputType", mode="before")(lambda cls, v: _upper_camel(v))


class OutputDataset(ArmModel):
    datastoreId: str | None = None
    path: str | None = None


class InvokeProperties(ArmModel):
    inputData: dict[str, JobInput] | None = None
    outputData: dict[str, JobOutput] | None = None
    outputDataset: OutputDataset | None = None
    miniBatchSize: int | None = Field(default=None, ge=1, le=100_000)
    errorThreshold: int | None = Field(default=None, ge=-1)
    retrySettings: RetrySettings | None = None
    outputFileName: str | None = Field(default=None, min_length=1, max_length=255)
    loggingLevel: str | None = None
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
    properties: dict[str, Any] | None = None
    compute: dict[str, Any] | None = None
    dataset: Any = None


class InvokeRequest(ArmModel):
    properties: InvokeProperties


# ------------------------------------------------------------------------------ resources
class Credentials(ArmModel):
    credentialsType: str = "None"
    secrets: dict[str, Any] | None = None


class DatastoreProperties(ArmModel):
    datastoreType: str = "AzureBlob"
    accountName: str | None = None
    containerName: str | None = None
    endpoint: str | None = None
    protocol: Literal["https", "http", "file"] | None = None
    containerUrl: str | None = None
    credentials: Credentials | None = None
    description: str | None = None
    tags: dict[str, str] | None = None
    properties: dict[str, str] | None = None
    isDefault: bool | None = None


class ModelVersionProperties(ArmModel):
    modelUri: str = Field(min_length=1)
    modelType: str | None = None
    description: str | None = None
    properties: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    flavors: dict[str, Any] | None = None
    isArchived: bool | None = None


class DataVersionProperties(ArmModel):
    dataType: Literal["uri_file", "uri_folder"]
    dataUri: str = Field(min_length=1)
    description: str | None = None
    properties: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    isArchived: bool | None = None

    @field_validator("dataType", mode="before")
    @classmethod
    def _snake(cls, value: Any) -> Any:
        return {"urifile": "uri_file", "urifolder": "uri_folder"}.get(
            str(value).replace("_", "").lower(), value
        )


class EndpointDefaults(ArmModel):
    deploymentName: str | None = None


class BatchEndpointProperties(ArmModel):
    authMode: str | None = "AADToken"
    description: str | None = None
    defaults: EndpointDefaults | None = None
    properties: dict[str, str] | None = None


class ModelReference(ArmModel):
    referenceType: str = "Id"
    assetId: str = Field(min_length=1)


class BatchDeploymentProperties(ArmModel):
    model: ModelReference | None = None
    miniBatchSize: int = Field(default=10, ge=1, le=100_000)
    maxConcurrencyPerInstance: int = Field(default=1, ge=1)
    errorThreshold: int = Field(default=-1, ge=-1)
    retrySettings: RetrySettings | None = None
    outputAction: Literal["AppendRow", "SummaryOnly"] = "AppendRow"
    outputFileName: str = Field(
        default="predictions.csv", min_length=1, max_length=255, pattern=r"^[^/\\]+$"
    )
    loggingLevel: str = "Info"
    description: str | None = None
    properties: dict[str, str] | None = None
    environmentVariables: dict[str, str] | None = None
    compute: str | None = None
    resources: dict[str, Any] | None = None
    codeConfiguration: dict[str, Any] | None = None
    environmentId: str | None = None

    _action = field_validator("outputAction", mode="before")(lambda cls, v: _upper_camel(v))


class ResourceBody(ArmModel):
    """The ARM envelope: `{location?, tags?, kind?, properties}`."""

    location: str | None = None
    tags: dict[str, str] | None = None
    kind: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
