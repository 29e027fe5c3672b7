"""The served OpenAPI document, checked by an independent validator."""

import requests
from openapi_spec_validator import validate


def test_the_served_document_is_valid_openapi_3_1(base_url: str):
    r = requests.get(f"{base_url}/openapi.json", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    paths = doc["paths"]
    for p in ["/v1/sync/push", "/v1/sync/pull", "/v1/numbers/accounts", "/v1/exports/records.csv", "/open311/v2/requests.json", "/open311/v2/requests.xml",
              "/open311/v2/discovery.xml", "/open311/v2/requests/{service_request_id}.json", "/open311/v2/tokens/{token}.xml"]:
        assert p in paths, p
