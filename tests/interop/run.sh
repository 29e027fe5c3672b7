#!/usr/bin/env bash
# The interop suite: a real gridwork-server (the shipped release build) with the demo city
# in a temporary directory, checked by third-party tools in a Python venv: an Open311
# client from PyPI, openpyxl, csv, geojson validators, openapi-spec-validator, and
# schemathesis (a property-based tester that reads only the served OpenAPI document).
#
#   tests/interop/run.sh            # builds the server if GRIDWORK_SERVER_BIN is not set
#
# Env: GRIDWORK_SERVER_BIN (the server binary), GRIDWORK_INTEROP_VENV (where the venv is
# kept; default target/interop-venv), SCHEMATHESIS_MAX_EXAMPLES (default 25).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/interop/server.sh
start_server
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/interop

# Every operation of the document, with generated requests: no server error and no answer
# the document does not describe. Signed in as the demo admin, so the device API is reached
# past its authentication too. Left out: signing out and revoking (either would end the
# tester's own session), and the photo upload's PATCH, whose body type
# (`application/offset+octet-stream`) schemathesis cannot generate.
TOKEN_AND_DEVICE="$("$VENV/bin/python" - <<'EOF'
import os, uuid, requests
device = str(uuid.uuid4())
r = requests.post(os.environ["GRIDWORK_URL"] + "/v1/auth/login",
                  json={"username": "admin", "password": "gridwork-demo", "device_id": device}, timeout=30)
r.raise_for_status()
print(r.json()["token"], device)
EOF
)"
read -r TOKEN DEVICE <<<"$TOKEN_AND_DEVICE"
"$VENV/bin/schemathesis" run "$GRIDWORK_URL/openapi.json" \
    --url "$GRIDWORK_URL" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --exclude-path /v1/auth/logout \
    --exclude-path /v1/auth/revoke \
    --exclude-method PATCH \
    --header "Authorization: Bearer $TOKEN" \
    --header "x-gridwork-device: $DEVICE" \
    --no-color

check_no_panic
