"""Open311 GeoReport v2 against a real gridwork-server, through a third-party client.

Two clients from PyPI, both pointed at the server by base URL alone:
- `civicbot` (0.4, Python 3): lists services, files requests with an api key
  (`create_request(..., dry_run=False, confirm="SEND")`), reads requests and tokens, in JSON;
- `georeport` (0.3.1): the read side in JSON and XML.
(The older clients on PyPI, `open311` 1.1 and `three` 0.8, are Python 2 only.) Plain
`requests` is used only for what neither client sends: malformed forms and raw bodies.
"""

import uuid
from datetime import datetime, timezone

import pytest
import requests
import xmltodict
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

from conftest import DISTRICT, uuid7


def client(open311_url: str, fmt: str, api_key: str | None = None) -> GeoReport:
    return GeoReport(open311_url, api_key=api_key, output_format=fmt)


def civic(open311_url: str) -> Open311Client:
    endpoint = Endpoint(id="gridwork", name="gridwork 潍坊", base_url=open311_url, write=True)
    # No politeness delay against our own loopback server.
    return Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))


def civic_file(open311_url: str, api_key: str):
    """Files the interop request through civicbot, as a citizen app would."""
    return civic(open311_url).create_request(
        "09006",
        dry_run=False,
        confirm="SEND",
        api_key=api_key,
        validate_remote=True,
        lat=36.7071,
        lng=119.1620,
        address_string="胜利东街与东风街路口",
        description="早市摊贩占道经营（互通测试）",
        media_url="https://img.example.org/interop/1.jpg",
        # Personal data the spec allows: accepted, never kept.
        first_name="张",
        last_name="三",
        phone="13805361234",
        email="zhangsan@example.org",
    )


def file_request(open311_url: str, api_key: str, fmt: str = "json", **extra) -> requests.Response:
    form = {
        "api_key": api_key,
        "service_code": "09006",
        "lat": "36.7071",
        "long": "119.1620",
        "address_string": "胜利东街与东风街路口",
        "description": "早市摊贩占道经营（互通测试）",
        "media_url": "https://img.example.org/interop/1.jpg",
        # Personal data the spec allows: accepted, never kept.
        "first_name": "张",
        "last_name": "三",
        "phone": "13805361234",
        "email": "zhangsan@example.org",
    }
    form.update(extra)
    return requests.post(f"{open311_url}/requests.{fmt}", data=form, timeout=60)


def assert_w3c(s: str) -> None:
    t = datetime.fromisoformat(s)
    assert t.tzinfo is not None and t.utcoffset().total_seconds() == 8 * 3600, s


def test_discovery_exists_in_json_and_xml(open311_url: str):
    j = requests.get(f"{open311_url}/discovery.json", timeout=30)
    assert j.status_code == 200 and j.headers["content-type"].startswith("application/json")
    d = j.json()
    assert d["endpoints"][0]["url"].endswith("/open311/v2")
    assert "text/xml" in d["endpoints"][0]["formats"]
    x = requests.get(f"{open311_url}/discovery.xml", timeout=30)
    assert x.status_code == 200 and x.headers["content-type"].startswith("text/xml")
    assert xmltodict.parse(x.content)["discovery"]["endpoints"]["endpoint"]["specification"] == d["endpoints"][0]["specification"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_are_the_category_table(open311_url: str, fmt: str):
    services = client(open311_url, fmt).get_service_list()
    assert len(services) > 100, "every 小类 of GB/T 47678.5"
    by_code = {s["service_code"]: s for s in services}
    stall = by_code["09006"]
    assert stall["service_name"] == "占道经营"
    assert stall["group"] == "街面秩序类"
    assert stall["type"] == "realtime"
    assert all(isinstance(s["service_code"], str) for s in services)
    if fmt == "json":
        assert civic(open311_url).list_services() == services
    definition = client(open311_url, fmt).get_service_definition("09006")
    assert definition["service_code"] == "09006"


def test_a_request_is_filed_read_back_in_json_and_xml_and_closes_with_its_case(open311_url: str, api_key: str, admin):
    filed = civic_file(open311_url, api_key)
    assert filed.dry_run is False
    request_id = filed.response[0]["service_request_id"]
    assert isinstance(request_id, str)

    one = civic(open311_url).get_request(request_id)
    assert one == client(open311_url, "json").get_service_request(request_id)
    assert one["status"] == "open"
    assert one["service_code"] == "09006"
    assert one["description"] == "早市摊贩占道经营（互通测试）"
    assert one["media_url"] == "https://img.example.org/interop/1.jpg"
    assert (one["lat"], one["long"]) == (36.7071, 119.162)
    assert_w3c(one["requested_datetime"])
    for secret in ["13805361234", "zhangsan", "张三"]:
        assert secret not in str(one)
    xml_one = client(open311_url, "xml").get_service_request(request_id)
    assert xml_one["service_request_id"] == request_id and xml_one["status"] == "open"
    assert xml_one["service_name"] == "占道经营"

    # tokens/{token}: the token is the request's id.
    token = civic(open311_url).get_token(request_id)
    assert token == [{"service_request_id": request_id, "token": request_id}]
    token_xml = xmltodict.parse(requests.get(f"{open311_url}/tokens/{request_id}.xml", timeout=30).content)
    assert token_xml["service_requests"]["request"]["service_request_id"] == request_id

    listed = client(open311_url, "json").get_service_requests(status="open", service_code="09006")
    assert request_id in [x["service_request_id"] for x in listed]
    listed = civic(open311_url).list_requests(status="open", service_request_ids=[request_id])
    assert [x["service_request_id"] for x in listed] == [request_id]

    # Staff close the loop: 立案 → 派遣 → 处置 → 答复 → 核查, as a console or device does.
    case = uuid7()
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    pulled = admin.get("/v1/sync/pull", params={"since": 0, "limit": 2000})
    report = None
    page = pulled.json()
    while report is None:
        report = next((x for x in page["records"] if x["id"] == request_id), None)
        if report is None:
            assert page["has_more"], "the filed report is in the admin's pull"
            page = admin.get("/v1/sync/pull", params={"since": page["next"], "limit": 2000}).json()
    create = {
        "op_id": uuid7(), "record_id": case, "hlc": admin.hlc(),
        "action": {"create": {
            "org": report["org"], "created_at": now, "location": report["location"], "status": "registered",
            "body": {"case": {"source": {"report": {"id": request_id}}, "category": "09006", "description": "早市占道经营"}},
        }},
    }
    admin.push([create])

    def step(frm, action, **extra):
        return {"op_id": uuid7(), "record_id": case, "hlc": admin.hlc(),
                "action": {"step": {"from": frm, "action": action, **extra}}}

    admin.push([step("registered", {"dispatch": {"to": {"unit": {"code": DISTRICT}}}})])
    dispatched = client(open311_url, "json").get_service_request(request_id)
    assert dispatched["status"] == "open"
    assert dispatched["agency_responsible"].endswith("执法中队")
    assert_w3c(dispatched["expected_datetime"])
    admin.push([
        step("dispatched", "handle"),
        step("handled", "note", note="内部备注：仅内部可见"),
        step("handled", {"reply": {"text": "已安排执法队员现场处置，摊贩已劝离。"}}),
        step("handled", {"verify": {"passed": True}}),
    ])

    closed = civic(open311_url).get_request(request_id)
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "已安排执法队员现场处置，摊贩已劝离。"
    assert "内部备注" not in str(closed)
    closed_xml = client(open311_url, "xml").get_service_request(request_id)
    assert closed_xml["status"] == "closed"
    assert closed_xml["status_notes"] == "已安排执法队员现场处置，摊贩已劝离。"
    assert request_id in [x["service_request_id"] for x in client(open311_url, "json").get_service_requests(status="closed")]
    assert request_id not in [x["service_request_id"] for x in client(open311_url, "json").get_service_requests(status="open")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_wrong_or_missing_key_is_403_in_the_spec_shape(open311_url: str, fmt: str):
    for key in ["", "not-a-key", "0" * 64]:
        r = file_request(open311_url, key, fmt)
        assert r.status_code == 403, r.text
        if fmt == "json":
            body = r.json()
            assert body[0]["code"] == 403 and body[0]["description"]
        else:
            err = xmltodict.parse(r.content)["errors"]["error"]
            assert err["code"] == "403" and err["description"]
    # Through the client: refused before anything is filed, and the 403 reaches the caller.
    for key in ["not-a-key", "0" * 64]:
        with pytest.raises(HttpError) as e:
            civic_file(open311_url, key)
        assert e.value.status == 403
        assert "api_key" in e.value.body or "403" in e.value.body
    # The client libraries surface the spec's errors as HTTP errors.
    with pytest.raises(requests.HTTPError) as e:
        client(open311_url, fmt).get_service_request(str(uuid.uuid4()))
    assert e.value.response.status_code == 404


def test_bad_requests_are_400_and_an_empty_list_is_empty(open311_url: str, api_key: str):
    r = file_request(open311_url, api_key, lat="91")
    assert r.status_code == 400 and r.json()[0]["code"] == 400
    r = requests.get(f"{open311_url}/requests.json", params={"status": "pending"}, timeout=30)
    assert r.status_code == 400
    assert client(open311_url, "json").get_service_requests(start_date="2001-01-01T00:00:00+08:00", end_date="2001-01-02T00:00:00+08:00") == []
    x = requests.get(f"{open311_url}/requests.xml", params={"start_date": "2001-01-01", "end_date": "2001-01-02"}, timeout=30)
    assert x.status_code == 200 and xmltodict.parse(x.content)["service_requests"] is None


def test_page_and_page_size(open311_url: str, api_key: str):
    for i in range(3):
        assert file_request(open311_url, api_key, description=f"分页测试{i}").status_code == 201
    get = lambda **p: requests.get(f"{open311_url}/requests.json", params=p, timeout=30).json()
    first, second = get(page_size=2, page=1), get(page_size=2, page=2)
    assert len(first) == 2 and len(second) >= 1
    assert not {x["service_request_id"] for x in first} & {x["service_request_id"] for x in second}
