"""The export benchmark (run by bench.sh with a real release server): file reports up to
10,000 and then 100,000 records, export each format at both sizes, and print the time, the
bytes and the server's peak resident memory during each export (sampled from
/proc/PID/status). Before measuring, the server is restarted (`serve` on the same data), so
the heap that seeding the demo city and filing the records left behind cannot hide a
buffered export. The exports are streamed, so the peak must not grow with the row count:
the script fails if the 100,000-row peak is more than GROWTH_LIMIT_MIB above the 10,000-row
one for any format."""

import os
import signal
import subprocess
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from conftest import GRID, Session, uuid7  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
FORMATS = ["csv", "geojson", "xlsx"]
GROWTH_LIMIT_MIB = float(os.environ.get("BENCH_GROWTH_LIMIT_MIB", "16"))
BATCH = 1000


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Sampler:
    """The peak RSS of a process while a block runs, sampled every 5 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def __enter__(self):
        self.peak = rss_kib(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))


def seed(worker: Session, count: int) -> None:
    community = GRID.rsplit("-", 1)[0]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for start in range(0, count, BATCH):
        ops = [
            {
                "op_id": uuid7(), "record_id": uuid7(), "hlc": worker.hlc(),
                "action": {"create": {
                    "org": {"community": community, "grid": GRID}, "created_at": now,
                    "location": {"lat": 36.7069 + (i % 100) * 1e-5, "lon": 119.1617, "accuracy_m": 8.0, "address": "潍坊市奎文区胜利东街"},
                    "status": "submitted",
                    "body": {"report": {"category": "09006", "description": f"压力测试第{start + i}条：早市占道经营"}},
                }},
            }
            for i in range(min(BATCH, count - start))
        ]
        worker.push(ops)


def export(admin: Session, pid: int, fmt: str) -> tuple[float, int, int, int]:
    with Sampler(pid) as s:
        t0 = time.monotonic()
        r = requests.get(f"{admin.base_url}/v1/exports/records.{fmt}", headers=admin.headers, stream=True, timeout=600)
        r.raise_for_status()
        size = sum(len(chunk) for chunk in r.iter_content(64 * 1024))
        elapsed = time.monotonic() - t0
    return elapsed, size, int(r.headers["x-gridwork-rows"]), s.peak


class Server:
    """A gridwork-server process on a free loopback port."""

    def __init__(self, binary: str, data: str, mode: str):
        self.proc = subprocess.Popen(
            [binary, mode, "--data", data, "--addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env={**os.environ, "GRIDWORK_LOG": "warn"},
        )
        for line in self.proc.stdout:
            if line.startswith("gridwork-server listening on "):
                self.url = line.split(" on ", 1)[1].strip()
                break
        else:
            raise RuntimeError("gridwork-server exited before listening")
        # Keep draining stdout so the server never blocks on it.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def main() -> int:
    binary, data = os.environ["GRIDWORK_SERVER_BIN"], os.path.join(os.environ["WORK"], "data")
    server = Server(binary, data, "demo")
    worker = Session(server.url, "grid.kw01")
    filed, results = 0, {}
    print(f"{'rows':>8} {'format':>8} {'seconds':>8} {'MiB out':>8} {'RSS before':>11} {'peak RSS MiB':>13} {'rows/s':>9}")
    try:
        for size in SIZES:
            seed(worker, size - filed)
            filed = size
            server.stop()
            server = Server(binary, data, "serve")
            worker.base_url = server.url
            admin = Session(server.url, "admin")
            for fmt in FORMATS:
                before = rss_kib(server.proc.pid)
                elapsed, nbytes, rows, peak = export(admin, server.proc.pid, fmt)
                assert rows >= size, (rows, size)
                results[(size, fmt)] = peak
                print(f"{rows:>8} {fmt:>8} {elapsed:>8.2f} {nbytes / 2**20:>8.1f} {before / 1024:>11.1f} {peak / 1024:>13.1f} "
                      f"{rows / elapsed:>9.0f}")
    finally:
        server.stop()
    failed = False
    if len(SIZES) > 1:
        small, large = SIZES[0], SIZES[-1]
        for fmt in FORMATS:
            growth = (results[(large, fmt)] - results[(small, fmt)]) / 1024
            flat = growth <= GROWTH_LIMIT_MIB
            failed |= not flat
            print(f"{fmt}: peak RSS {'+' if growth >= 0 else ''}{growth:.1f} MiB from {small} to {large} rows "
                  f"({'flat' if flat else f'GROWS more than {GROWTH_LIMIT_MIB} MiB'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
