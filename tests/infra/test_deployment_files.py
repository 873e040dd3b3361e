"""host.json and its Azure overlay, the local settings example, the Dockerfile, azure.yaml and
main.parameters.json: valid, complete and consistent with each other.

Why: the image swaps the embedded host's host.json for infra/host.azure.json, so the two must stay
the same file apart from the Durable Task Scheduler backend; the Dockerfile must really install
the GPU build of ONNX Runtime; and azd must find what it binds.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml

from batchinfer.settings import SETTINGS
from tests.infra.bicep_tree import INFRA, REPO_ROOT, parse

AZURE_OVERLAY = {
    "extensions": {
        "durableTask": {
            "hubName": "%TASKHUB_NAME%",
            "storageProvider": {
                "type": "azureManaged",
                "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
            },
        }
    }
}


def _load(path: str) -> Any:
    return json.loads((REPO_ROOT / path).read_text())


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@pytest.mark.parametrize(
    "path",
    [
        "host.json",
        "infra/host.azure.json",
        "local.settings.example.json",
        "infra/main.parameters.json",
        "infra/abbreviations.json",
    ],
)
def test_json_files_are_valid(path: str) -> None:
    assert isinstance(_load(path), dict)


def test_host_json_is_complete() -> None:
    host = _load("host.json")
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert "durableTask" in host["extensions"]
    # The embedded host keeps its own (SQLite) backend: no Azure provider in the repository file.
    assert "storageProvider" not in host["extensions"]["durableTask"]


def test_azure_host_json_is_host_json_plus_the_scheduler_overlay() -> None:
    assert _load("infra/host.azure.json") == _merge(_load("host.json"), AZURE_OVERLAY)


def test_local_settings_example_lists_exactly_the_local_settings() -> None:
    example = _load("local.settings.example.json")
    assert example["IsEncrypted"] is False
    assert set(example["Values"]) == {s.name for s in SETTINGS if s.local}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    text = (INFRA / "docker" / "Dockerfile").read_text()
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_dockerfile_builds_on_the_functions_python_image() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "mcr.microsoft.com/azure-functions/python:4-python3.11")
    env = " ".join(args for ins, args in instructions if ins == "ENV")
    assert "AzureWebJobsScriptRoot=/home/site/wwwroot" in env
    assert "AzureFunctionsJobHost__Logging__Console__IsEnabled=true" in env
    assert ("WORKDIR", "/home/site/wwwroot") in instructions


def test_dockerfile_installs_onnxruntime_gpu_instead_of_cpu() -> None:
    runs = [args for ins, args in _dockerfile_instructions() if ins == "RUN"]
    install_requirements = next(i for i, r in enumerate(runs) if "-r requirements.txt" in r)
    swap = next(i for i, r in enumerate(runs) if "onnxruntime-gpu" in r)
    assert swap > install_requirements
    assert re.search(r"pip uninstall -y [^&]*\bonnxruntime\b", runs[swap])
    assert re.search(r"pip uninstall -y [^&]*\bopencv-python\b", runs[swap])
    assert "opencv-python-headless" in runs[swap]
    # onnxruntime-gpu 1.27+ on PyPI is the CUDA 13 build; keep the CUDA 12 one.
    assert re.search(r'"onnxruntime-gpu\[cuda,cudnn\]>=1\.\d+,<1\.27"', runs[swap])
    assert any("CUDAExecutionProvider" in r for r in runs[swap:])
    system = next(r for r in runs if "apt-get install" in r)
    assert "libgl1" in system and "libglib2.0-0" in system


def test_dockerfile_copies_the_app_and_the_host_overlay() -> None:
    copies = [args.split() for ins, args in _dockerfile_instructions() if ins == "COPY"]
    assert ["infra/host.azure.json", "./host.json"] in copies
    assert ["function_app.py", "./"] in copies
    overlay_index = copies.index(["infra/host.azure.json", "./host.json"])
    assert all("host.json" not in c[-1] for c in copies[overlay_index + 1 :])
    for *sources, _destination in copies:
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY source {source} is missing"
    ignore = (INFRA / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
    for *sources, _destination in copies:
        for source in sources:
            assert f"!{source.rstrip('/')}" in {line.rstrip("/") for line in ignore}, source


def test_azure_yaml_builds_the_api_image_from_the_infra_dockerfile() -> None:
    config = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    assert config["infra"]["path"] == "infra"
    api = config["services"]["api"]
    assert api["language"] == "python"
    assert api["host"] == "containerapp"
    assert api["docker"]["path"] == "./infra/docker/Dockerfile"
    assert api["docker"]["context"] == "."
    hook = config["hooks"]["postdeploy"]["posix"]["run"]
    assert (REPO_ROOT / hook).is_file()


def test_parameters_file_binds_only_azd_variables() -> None:
    parameters = _load("infra/main.parameters.json")["parameters"]
    main = parse("main.bicep")
    declared = {p.name: p for p in main.declarations("param")}
    assert set(parameters) <= set(declared)
    required = {name for name, p in declared.items() if p.value is None}
    assert required <= set(parameters)
    for name, entry in parameters.items():
        assert re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}", entry["value"]), (name, entry)
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert parameters["containerImage"]["value"] == "${SERVICE_API_IMAGE_NAME}"
