"""Harness of the Python binding tests: the generated `gridwork` module, a real
`gridwork-server demo` on a free loopback port, and per-test device databases.

Environment:
  GRIDWORK_BINDINGS   folder with gridwork.py and libgridwork_ffi.so (skips generating);
                      default: run ffi/generate.sh into target/bindings.
  GRIDWORK_SERVER_BIN the server binary; default target/debug/gridwork-server (built if missing).
"""

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "gridwork-demo"
KW_GRID = "370705001001-01"  # 胜利东街社区 第1网格 (奎文区), grid.kw01's grid
KW_COMMUNITY = "370705001001"
WC_GRID = "370702001001-01"  # 十笏园社区 第1网格 (潍城区)


def _bindings_dir() -> Path:
    given = os.environ.get("GRIDWORK_BINDINGS")
    if given:
        return Path(given).resolve() / "python" if (Path(given) / "python").is_dir() else Path(given).resolve()
    out = ROOT / "target" / "bindings"
    subprocess.run([str(ROOT / "ffi" / "generate.sh"), str(out)], cwd=ROOT, check=True)
    return out / "python"


# Collection imports `gridwork`, so the module must be on the path before any test module.
_BINDINGS = _bindings_dir()
if not (_BINDINGS / "gridwork.py").is_file():
    raise RuntimeError(f"no generated gridwork.py in {_BINDINGS}")
sys.path.insert(0, str(_BINDINGS))


def _server_bin() -> Path:
    given = os.environ.get("GRIDWORK_SERVER_BIN")
    if given:
        return Path(given)
    binary = ROOT / "target" / "debug" / "gridwork-server"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-p", "gridwork-server"], cwd=ROOT, check=True)
    return binary


@pytest.fixture(scope="session")
def server_data(tmp_path_factory):
    """The data directory of the session's server."""
    return tmp_path_factory.mktemp("server-data")


@pytest.fixture(scope="session")
def server(server_data):
    """URL of a running demo server (demo accounts, password `gridwork-demo`)."""
    data = server_data
    env = dict(os.environ, GRIDWORK_LOG="warn")
    proc = subprocess.Popen(
        [str(_server_bin()), "demo", "--data", str(data), "--addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
    )
    urls: "queue.Queue[str]" = queue.Queue()

    def drain():
        # Read the address, then keep draining so the server never blocks on stdout.
        prefix = "gridwork-server listening on "
        for line in proc.stdout:
            if line.startswith(prefix):
                urls.put(line[len(prefix):].strip())

    threading.Thread(target=drain, daemon=True).start()
    try:
        url = urls.get(timeout=120)
    except queue.Empty:
        proc.kill()
        raise RuntimeError("gridwork-server did not report its address")
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=30) == 0, "server exited with an error after SIGTERM"
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def open_client(tmp_path, server):
    """open_client(name="device", key=None, url=server) -> a GridworkClient on its own DB file."""
    import gridwork

    def make(name="device", key=None, url=None):
        return gridwork.GridworkClient.open(str(tmp_path / f"{name}.db"), url or server, key)

    return make


@pytest.fixture
def login(open_client):
    """await login("grid.kw01") -> a logged-in client on its own DB file."""

    async def make(username, name=None):
        client = open_client(name or username)
        await client.login(username, PASSWORD)
        return client

    return make


@pytest.fixture
def enrol_code(server, server_data):
    """enrol_code("grid.kw01") -> the QR text of a new one-time enrolment code (扫码登录),
    made by `gridwork-server enrol-code` on the running server's data, as an operator would."""

    def make(username):
        out = subprocess.run(
            [str(_server_bin()), "enrol-code", "--data", str(server_data), "--user", username, "--server", server],
            capture_output=True,
            text=True,
            env=dict(os.environ, GRIDWORK_LOG="warn"),
        )
        assert out.returncode == 0, out.stderr
        text = out.stdout.strip()
        assert text.startswith("gridwork://enrol?server="), text
        return text

    return make
