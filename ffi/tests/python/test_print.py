"""Printing a notice through the bindings: the PDF (A5, A4) read back with poppler and its QR
code decoded with zbar, the ESC/POS bytes for a 58 mm printer, the status URL, the typed errors.

Needs poppler-utils, zbar-tools and fonts-wqy-microhei (or fonts-noto-cjk, or
GRIDWORK_CJK_FONT=path[:index]); without them the checks that use them fail when CI=true and
are skipped otherwise."""

import datetime as dt
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import gridwork as gw
from conftest import KW_GRID

ESC_INIT = b"\x1b@"
CUT = b"\x1dVB\x00"
FONTS = [
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Simplified Chinese
]


def _missing(what):
    if os.environ.get("CI") == "true":
        pytest.fail(f"missing {what}: apt-get install poppler-utils zbar-tools fonts-wqy-microhei")
    pytest.skip(f"missing {what}")


def cjk_font():
    given = os.environ.get("GRIDWORK_CJK_FONT")
    if given:
        path, _, index = given.rpartition(":") if given.rpartition(":")[2].isdigit() else (given, "", "0")
        return path, int(index)
    for path, index in FONTS:
        if Path(path).is_file():
            return path, index
    _missing("a CJK font")


def tools(*names):
    absent = [n for n in names if shutil.which(n) is None]
    if absent:
        _missing(", ".join(absent))


def notice_draft():
    return gw.NoticeDraft(
        grid=KW_GRID,
        location=gw.Location(lat=36.7069, lon=119.1617, accuracy_m=6.5, address="潍坊市奎文区胜利东街"),
        category="QL-STALL",
        party=gw.Party(name="张某", shop_name="老张水果店", phone="13805361234"),
        facts="店外占用人行道摆放水果",
        legal_basis="《潍坊市城市市容和环境卫生管理办法》第十六条",
        deadline=(dt.date.today() + dt.timedelta(days=3)).isoformat(),
    )


def qr_payload(stream):
    """The data of the ESC/POS `GS ( k` store command (cn 49, fn 80)."""
    at = stream.find(b"\x1d(k")
    while at >= 0:
        size = stream[at + 3] + 256 * stream[at + 4]
        body = stream[at + 5 : at + 5 + size]
        if body[:3] == b"1P0":
            return body[3:]
        at = stream.find(b"\x1d(k", at + 5 + size)
    return None


async def test_print_a_notice_as_pdf_and_escpos(login, server, tmp_path):
    officer = await login("officer.kuiwen")
    notice = officer.create_notice(notice_draft())  # not synced: printing is offline
    deadline = dt.date.fromisoformat(notice.body.deadline)
    url = officer.notice_status_url(notice.id)
    assert url == f"{server.rstrip('/')}/public/notices/{notice.id}"

    # ESC/POS: init, Chinese mode, GB18030 text, the native QR code of the URL, the cut.
    stream = officer.notice_escpos(notice.id, gw.QrMode.NATIVE)
    assert stream.startswith(ESC_INIT) and stream.endswith(CUT)
    assert qr_payload(stream) == url.encode()
    text = stream.decode("gb18030", errors="replace")
    for want in (notice.body.number, "张某", "138****1234", "乱摆摊", "店外占用人行道摆放水果", "王建国"):
        assert want in text, want
    assert "13805361234" not in text
    raster = officer.notice_escpos(notice.id, gw.QrMode.RASTER)
    assert b"\x1dv0\x00" in raster and qr_payload(raster) is None, "a bitmap instead of the QR command"

    # PDF on both papers: the text reads back, the page renders, its QR code opens the URL.
    font, index = cjk_font()
    tools("pdftotext", "pdftoppm", "zbarimg")
    deadline_zh = f"{deadline.year}年{deadline.month}月{deadline.day}日"
    for paper in (gw.Paper.A5, gw.Paper.A4):
        pdf = tmp_path / f"notice-{paper.name}.pdf"
        pdf.write_bytes(officer.notice_pdf(notice.id, paper, font, index))
        read = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True)
        flat = "".join(read.stdout.split())
        for want in (notice.body.number, "当事人：张某", "联系电话：138****1234", "店外占用人行道摆放水果",
                     "《潍坊市城市市容和环境卫生管理办法》第十六条", deadline_zh, "执法人员：王建国"):
            assert want in flat, (paper, want)
        assert "13805361234" not in flat
        prefix = tmp_path / f"page-{paper.name}"
        subprocess.run(["pdftoppm", "-png", "-r", "150", str(pdf), str(prefix)], check=True)
        decoded = subprocess.run(["zbarimg", "--quiet", "--raw", f"{prefix}-1.png"], check=True,
                                 capture_output=True, text=True)
        assert decoded.stdout.strip() == url

    # The URL opens the public status page once the notice is synced: no sign-in, nothing personal.
    assert public_page(url)[0] == 404, "not on the server before it is synced"
    summary = await officer.sync_now()
    assert summary.rejected == 0, summary
    status, html = public_page(url)
    assert status == 200, html
    for want in (notice.body.number, "已告知", deadline_zh, "乱摆摊"):
        assert want in html, want
    for personal in ("张某", "老张水果店", "13805361234", "138****1234", "店外占用人行道摆放水果", "王建国"):
        assert personal not in html, personal


def public_page(url):
    """(status, body) of a GET without credentials."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


async def test_printing_errors_are_typed(login, tmp_path):
    officer = await login("officer.kuiwen")
    report = officer.create_report(gw.ReportDraft(
        grid=KW_GRID, location=gw.Location(lat=36.7069, lon=119.1617, accuracy_m=6.5, address=None),
        category="09006", description="人行道井盖缺失"))
    with pytest.raises(gw.GridworkError.Argument):
        officer.notice_escpos(report.id, gw.QrMode.NATIVE)  # not a notice
    with pytest.raises(gw.GridworkError.NotFound):
        officer.notice_escpos("00000000-0000-7000-8000-000000000000", gw.QrMode.RASTER)
    with pytest.raises(gw.GridworkError.Argument):
        officer.notice_status_url("not-a-uuid")
    notice = officer.create_notice(notice_draft())
    with pytest.raises(gw.GridworkError.Argument):
        officer.notice_pdf(notice.id, gw.Paper.A5, str(tmp_path / "no-such-font.ttc"), 0)
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"\x00\x01\x00\x00 nothing")
    with pytest.raises(gw.GridworkError.Argument) as e:
        officer.notice_pdf(notice.id, gw.Paper.A4, str(not_a_font), 0)
    assert "张某" not in str(e.value)
