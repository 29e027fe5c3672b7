"""Fixtures of the interop suite: a running gridwork-server with the demo city (started by
run.sh, its address in GRIDWORK_URL), the admin signed in over the device API, and an
Open311 client application made by that admin."""

import os
import time
import uuid

import pytest
import requests

PASSWORD = "gridwork-demo"
DEVICE_HEADER = "x-gridwork-device"
# A grid of the demo city (奎文区 胜利东街社区 第1网格) and a point inside it.
GRID = "370705001001-01"
DISTRICT = "370705"
LAT, LON = 36.7069, 119.1617


def uuid7() -> str:
    """A UUIDv7, as devices make record and op ids (Python 3.11 has no uuid.uuid7)."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("GRIDWORK_URL")
    if not url:
        pytest.fail("GRIDWORK_URL is not set: run tests/interop/run.sh")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def open311_url(base_url: str) -> str:
    return f"{base_url}/open311/v2"


class Session:
    """A signed-in account of the device API."""

    def __init__(self, base_url: str, username: str):
        self.base_url = base_url
        self.device = uuid.uuid4()
        r = requests.post(
            f"{base_url}/v1/auth/login",
            json={"username": username, "password": PASSWORD, "device_id": str(self.device), "device_name": "interop"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}", DEVICE_HEADER: str(self.device)}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(f"{self.base_url}{path}", headers=self.headers, timeout=60, **kw)

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", headers=self.headers, json=body, timeout=60)

    def hlc(self) -> str:
        # `<wall ms, 12 hex>-<counter, 6 hex>-<node: the device id's 32 hex digits>`.
        self._counter = getattr(self, "_counter", 0) + 1
        return f"{int(time.time() * 1000):012x}-{self._counter:06x}-{self.device.hex}"

    def push(self, ops: list) -> list:
        r = self.post("/v1/sync/push", {"ops": ops})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        for res in results:
            assert res["outcome"] == "accepted", res
        return results


@pytest.fixture(scope="session")
def admin(base_url: str) -> Session:
    return Session(base_url, "admin")


@pytest.fixture(scope="session")
def api_key(admin: Session) -> str:
    r = admin.post("/v1/open311/clients", {"name": "市民随手拍App（互通测试）", "grid": GRID, "lat": LAT, "lon": LON})
    assert r.status_code == 201, r.text
    return r.json()["api_key"]
