"""Exports of a real gridwork-server read by the tools offices and GIS use: the CSV as
Chinese Excel reads it (UTF-8 with BOM, `csv`), the xlsx with openpyxl, the GeoJSON with
two independent validators (`geojson`, `geojson-pydantic`)."""

import csv
import io

import geojson
import openpyxl
import pytest
from geojson_pydantic import FeatureCollection

from conftest import Session

FORMULA_START = ("=", "+", "-", "@")
EVIL = "=HYPERLINK(\"http://evil.example\",\"点我\")"


@pytest.fixture(scope="module")
def evil_report(open311_url: str, api_key: str) -> str:
    """A request whose description a spreadsheet would compute."""
    from test_open311 import file_request

    r = file_request(open311_url, api_key, description=EVIL)
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


def rows_of_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM, or Chinese Excel reads GBK"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_opens_with_chinese_headers_and_no_formula(admin: Session, evil_report: str):
    r = admin.get("/v1/exports/records.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = rows_of_csv(r.content)
    header = rows[0]
    for name in ["记录编号", "类型", "状态", "分类名称", "区", "街道", "社区", "网格", "纬度", "经度", "内容", "填报时间"]:
        assert name in header
    assert "联系电话" not in header and "当事人" not in header
    assert len(rows) - 1 == int(r.headers["x-gridwork-rows"]) > 1
    assert all(len(row) == len(header) for row in rows), "one row per record, every row whole"
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert by_id[evil_report]["内容"] == "'" + EVIL
    assert by_id[evil_report]["分类名称"] == "占道经营"
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell


def test_xlsx_opens_in_openpyxl_with_text_cells_only(admin: Session, evil_report: str):
    r = admin.get("/v1/exports/records.xlsx")
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book.active
    assert sheet.title == "记录"
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    assert header[:2] == ["记录编号", "类型"]
    assert len(rows) - 1 == int(r.headers["x-gridwork-rows"])
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula"
    text_col = header.index("内容")
    evil = [row for row in rows[1:] if row[0].value == evil_report]
    assert len(evil) == 1
    assert evil[0][text_col].data_type == "s" and evil[0][text_col].value in (EVIL, "'" + EVIL)
    lat, lon = header.index("纬度"), header.index("经度")
    assert isinstance(evil[0][lat].value, float) and isinstance(evil[0][lon].value, float)


def test_geojson_is_a_valid_feature_collection_in_lon_lat_order(admin: Session, evil_report: str):
    r = admin.get("/v1/exports/records.geojson", params={"kind": "report"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    obj = geojson.loads(r.text)
    assert isinstance(obj, geojson.FeatureCollection)
    assert obj.is_valid, obj.errors()
    fc = FeatureCollection.model_validate_json(r.content)
    assert len(fc.features) == int(r.headers["x-gridwork-rows"]) > 0
    feature = next(f for f in fc.features if f.id == evil_report)
    lon, lat = feature.geometry.coordinates[0], feature.geometry.coordinates[1]
    # Weifang: longitude about 119°E, latitude about 36.7°N.
    assert 118 < lon < 121 and 35 < lat < 38
    assert feature.properties["lat"] == lat and feature.properties["lon"] == lon


def test_personal_columns_only_on_the_explicit_option(admin: Session, base_url: str):
    plain = rows_of_csv(admin.get("/v1/exports/records.csv", params={"kind": "notice"}).content)
    personal = admin.get("/v1/exports/records.csv", params={"kind": "notice", "personal": "true"})
    assert personal.status_code == 200
    rows = rows_of_csv(personal.content)
    assert "联系电话" in rows[0] and "联系电话" not in plain[0]
    grid_worker = Session(base_url, "grid.kw01")
    refused = grid_worker.get("/v1/exports/records.csv", params={"personal": "true"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    own = rows_of_csv(grid_worker.get("/v1/exports/records.csv").content)
    grids = {row[own[0].index("网格代码")] for row in own[1:]}
    assert grids <= {"370705001001-01"}, grids
