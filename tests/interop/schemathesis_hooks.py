"""Schemathesis hooks of run.sh (loaded through SCHEMATHESIS_HOOKS; not a pytest module).

`POST /open311/v2/requests.{json,xml}` needs a valid `api_key`: without one every generated
request stops at the 403 and nothing past it is exercised. run.sh makes an Open311 client
application as the demo admin (as conftest.py's `api_key` fixture does) and passes its key
in GRIDWORK_OPEN311_KEY; every generated form gets that key. A random `service_code` is
never a service, so most positive forms (all but one in four of those with a non-blank
code, chosen by a checksum of the generated value, so a case is the same each time it is
replayed) also get a real service code of `services.json`: those reach the location,
media_url and description rules and file real reports into the case loop. Each answer to a
filing is tallied, one line `<path> <status>` in GRIDWORK_FILING_TALLY, for run.sh to check
that filings got through.
"""

import os
import zlib

import requests
import schemathesis

KEY = os.environ["GRIDWORK_OPEN311_KEY"]
_SERVICES = requests.get(os.environ["GRIDWORK_URL"].rstrip("/") + "/open311/v2/services.json", timeout=30)
_SERVICES.raise_for_status()
CODES = sorted(s["service_code"] for s in _SERVICES.json())
assert CODES, "the demo city has no Open311 services"

FILING = {"/open311/v2/requests.json", "/open311/v2/requests.xml"}


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() != "POST" or case.operation.path not in FILING or not isinstance(case.body, dict):
        return
    case.body["api_key"] = KEY
    generation = getattr(getattr(case, "meta", None), "generation", None)
    if generation is None or str(generation.mode) != "positive":
        return  # a negative case keeps its invalid service code (or none)
    generated = str(case.body.get("service_code", ""))
    pick = zlib.crc32(generated.encode("utf-8", "surrogatepass"))
    if generated not in CODES and not (generated.strip() and pick % 4 == 0):
        case.body["service_code"] = CODES[pick // 4 % len(CODES)]


@schemathesis.hook
def after_call(context, case, response):
    tally = os.environ.get("GRIDWORK_FILING_TALLY")
    if tally and case.method.upper() == "POST" and case.operation.path in FILING:
        with open(tally, "a", encoding="utf-8") as f:
            f.write(f"{case.operation.path} {response.status_code}\n")
