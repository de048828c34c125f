#!/usr/bin/env bash
# Creates (once) the test tools' Python environment: schemathesis, the OpenAPI validator,
# PyYAML, the Prometheus text parser and Selenium, pinned. Prints its python.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.build/test-venv
PACKAGES="schemathesis==4.32.5 openapi-spec-validator==0.9.0 PyYAML==6.0.3 prometheus-client==0.26.0 selenium==4.50.0"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import schemathesis, openapi_spec_validator, yaml, prometheus_client, selenium" 2>/dev/null; then
  echo "setting up $VENV ($PACKAGES)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet $PACKAGES >&2
fi
echo "$VENV/bin/python"
