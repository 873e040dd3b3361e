#!/bin/sh
# cpu-flex only: stage the code package azd deploys to the Flex Consumption app, with the Azure
# overlay of host.json (Durable Task Scheduler backend) in place of the repository's host.json.
# Run from the repository root (azd runs service hooks there when project is build/flex-package's
# parent; see docs/deployment.md). Output: build/flex-package/ (git-ignored via build/).
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build/flex-package"
rm -rf "$out"
mkdir -p "$out"
cp "$root/function_app.py" "$root/requirements.txt" "$root/pyproject.toml" "$out/"
cp "$root/.funcignore" "$out/" 2>/dev/null || true
cp -R "$root/src" "$out/src"
find "$out/src" -name '__pycache__' -type d -prune -exec rm -rf {} +
rm -rf "$out"/src/*.egg-info
cp "$root/infra/host.azure.json" "$out/host.json"
echo "staged $out"
