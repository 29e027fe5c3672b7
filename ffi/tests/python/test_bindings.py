"""The Python bindings against a real server: every exported method, the typed errors,
sync with listeners and cancellation."""

import asyncio
import datetime as dt
import re
import threading
import uuid
from pathlib import Path

import pytest

import gridwork as gw
from conftest import KW_COMMUNITY, KW_GRID, PASSWORD, WC_GRID

# Every method of the exported objects. test_every_export_is_covered checks that this list
# matches the generated module and that each name is called somewhere in this file.
EXPORTED = {
    "GridworkClient": [
        "open", "device_id", "server_url", "current_user", "login", "enrol", "logout",
        "create_report", "create_notice", "create_service_log",
        "update_report", "update_notice", "update_service_log", "set_status",
        "list_records", "get_record", "pending_count", "record_count",
        "rejected_changes", "discard_rejected",
        "org_children", "categories", "next_notice_number", "numbers_left", "users",
        "duplicate_hints", "cases_from", "stall_by_qr", "stalls_near", "stall_inspections",
        "notice_pdf", "notice_escpos", "notice_status_url",
        "sync_now", "cancel_sync", "subscribe",
        "attach_photo", "detach_photo", "photo_file", "fetch_photo", "photo_queue",
        "free_photo_space", "set_photo_policy", "photo_policy", "set_network", "upload_photos",
        "open_case", "case_step", "take_photo", "case_of", "case_remaining",
        "set_key_store", "device_key",
    ],
    "TaskHandle": ["cancel", "is_cancelled"],
}


def location(lat=36.7069, lon=119.1617):
    return gw.Location(lat=lat, lon=lon, accuracy_m=6.5, address="潍坊市奎文区胜利东街")


def today(days=0):
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def report_draft(grid=KW_GRID, description="人行道井盖缺失", **kw):
    return gw.ReportDraft(grid=grid, location=location(), category="09006", description=description, **kw)


def notice_draft(grid=KW_GRID, **kw):
    fields = dict(
        grid=grid,
        location=location(),
        category="QL-STALL",
        party=gw.Party(name="张某", shop_name="老张水果店", phone="13805361234"),
        facts="店外占用人行道摆放水果",
        legal_basis="《潍坊市城市市容和环境卫生管理办法》第十六条",
        deadline=today(3),
    )
    fields.update(kw)
    return gw.NoticeDraft(**fields)


def service_log_draft(grid=KW_GRID, **kw):
    fields = dict(
        grid=grid,
        location=location(),
        date=today(),
        activity=gw.Activity.HOME_VISIT,
        participants=5,
        summary="走访沿街商户，宣传门前五包",
        complaints=["夜间烧烤油烟扰民"],
        replies=["已告知中队，三日内现场查看"],
    )
    fields.update(kw)
    return gw.ServiceLogDraft(**fields)


async def all_records(client, **filter_fields):
    """Every record matching the filter, page by page (a page holds at most 1000)."""
    out, offset = [], 0
    while True:
        page = client.list_records(gw.RecordFilter(limit=1000, offset=offset, **filter_fields))
        out.extend(page)
        if len(page) < 1000:
            return out
        offset += len(page)


class Recorder(gw.SyncListener):
    def __init__(self, on_event=None):
        self.events = []
        self.on_event = on_event

    def on_progress(self, progress):
        self.events.append(progress)
        if self.on_event:
            self.on_event(progress)


# --- login ---------------------------------------------------------------------------------


async def test_login_and_current_user(open_client, server):
    client = open_client()
    assert uuid.UUID(client.device_id())
    assert client.server_url().rstrip("/") == server.rstrip("/")
    assert client.current_user() is None
    user = await client.login("grid.kw01", PASSWORD)
    assert user.username == "grid.kw01"
    assert user.role == gw.Role.GRID_WORKER
    assert user.role_label == "网格员"
    assert user.scope == KW_GRID
    assert client.current_user() == user


async def test_wrong_password_is_a_typed_error(open_client):
    client = open_client()
    with pytest.raises(gw.GridworkError.Unauthorized) as e:
        await client.login("grid.kw01", "not-the-password")
    assert e.value.msg == "用户名或密码错误"
    with pytest.raises(gw.GridworkError.Argument):
        await client.login("", PASSWORD)
    assert client.current_user() is None


async def test_unreachable_server_and_bad_url(open_client, tmp_path):
    client = open_client(url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(gw.GridworkError.Network):
        await client.login("grid.kw01", PASSWORD)
    with pytest.raises(gw.GridworkError.Argument):
        gw.GridworkClient.open(str(tmp_path / "x.db"), "ftp://example.invalid", None)


class AppKeyStore(gw.DeviceKeyStore):
    """The app's key store: an Ed25519 key in memory (a phone keeps it in its platform's
    key store), and a switch that makes it fail."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.key = Ed25519PrivateKey.generate()
        self.broken = False
        self.signed = 0

    def public_key(self):
        from cryptography.hazmat.primitives import serialization

        if self.broken:
            raise gw.KeyStoreError.Failed("keystore locked")
        return self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message):
        if self.broken:
            raise gw.KeyStoreError.Failed("keystore locked")
        self.signed += 1
        return self.key.sign(bytes(message))


async def test_the_apps_key_store_signs_every_change(open_client, login):
    keys = AppKeyStore()
    officer = open_client("officer")
    officer.set_key_store(keys)
    keys.broken = True
    with pytest.raises(gw.GridworkError.KeyStore) as e:
        await officer.login("officer.kuiwen", PASSWORD)
    assert "key_store" in e.value.msg
    keys.broken = False
    await officer.login("officer.kuiwen", PASSWORD)
    assert officer.device_key() == keys.public_key().hex()
    officer.create_notice(notice_draft())
    keys.broken = True
    with pytest.raises(gw.GridworkError.KeyStore):
        await officer.sync_now()
    assert officer.pending_count() == 1, "nothing was sent unsigned"
    keys.broken = False
    assert (await officer.sync_now()).accepted == 1
    assert keys.signed >= 1
    # Without an app key store the key lives in the device database, the same each time.
    worker = await login("grid.kw01")
    assert len(worker.device_key()) == 64 and worker.device_key() == worker.device_key()


async def test_enrol_by_qr_code_syncs_and_the_code_is_used_once(open_client, login, server, enrol_code):
    qr = enrol_code("grid.kw01")
    # The app reads the server from the QR code, opens the client on it, then enrols.
    assert gw.enrol_server(qr).rstrip("/") == server.rstrip("/")
    phone = open_client("phone", url=gw.enrol_server(qr))
    user = await phone.enrol(qr)
    assert user.username == "grid.kw01"
    assert user.role == gw.Role.GRID_WORKER
    assert phone.current_user() == user
    made = phone.create_report(report_draft(description="扫码登录后上报"))
    summary = await phone.sync_now()
    assert (summary.pushed, summary.accepted, summary.rejected) == (1, 1, 0)
    other = await login("grid.kw01", name="other")
    await other.sync_now()
    assert other.get_record(made.id) is not None, "the enrolled phone's record reached the server"

    # The code is spent: a second use is refused like an unknown code.
    thief = open_client("thief")
    with pytest.raises(gw.GridworkError.Unauthorized) as e:
        await thief.enrol(qr)
    assert "登录码" in e.value.msg
    assert thief.current_user() is None
    # Anything but an enrolment link is an Argument error, and nothing is sent.
    for text in ["https://example.cn/public/stalls/KW-XLP-007", "gridwork://enrol?server=https%3A%2F%2Fx.cn", ""]:
        with pytest.raises(gw.GridworkError.Argument):
            await thief.enrol(text)
        with pytest.raises(gw.GridworkError.Argument):
            gw.enrol_server(text)
    # Plain http only to this machine unless the app allows it.
    far = "gridwork://enrol?server=http%3A%2F%2F10.0.0.5%3A8080&code=ABCD"
    with pytest.raises(gw.GridworkError.Argument):
        gw.enrol_server(far)
    assert gw.enrol_server(far, allow_insecure=True) == "http://10.0.0.5:8080"


# --- filing, syncing, what the admin sees --------------------------------------------------


async def test_file_offline_sync_and_admin_sees_all_fields(login):
    officer = await login("officer.kuiwen")
    report = officer.create_report(report_draft())
    notice = officer.create_notice(notice_draft())
    log = officer.create_service_log(service_log_draft())
    assert officer.pending_count() == 3
    assert all(r.sync_state == gw.SyncState.PENDING for r in (report, notice, log))
    assert re.fullmatch(r"奎文城管告字〔\d{4}〕第\d{6}号", notice.body.number), notice.body.number
    assert (report.kind, notice.kind, log.kind) == (gw.RecordKind.REPORT, gw.RecordKind.NOTICE, gw.RecordKind.SERVICE_LOG)
    assert (report.kind_label, notice.kind_label, log.kind_label) == ("随手拍", "不文明行为告知单", "服务日志")
    assert report.status == gw.RecordStatus.REPORT(gw.ReportStatus.SUBMITTED)
    assert notice.status == gw.RecordStatus.NOTICE(gw.NoticeStatus.ISSUED)
    assert log.status == gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.OPEN)
    assert (report.status_label, notice.status_label, log.status_label) == ("已上报", "已告知", "待答复")
    assert report.sync_state_label == "待同步"
    assert report.community == KW_COMMUNITY and report.grid == KW_GRID

    summary = await officer.sync_now()
    assert (summary.pushed, summary.accepted, summary.rejected) == (3, 3, 0)
    assert officer.pending_count() == 0
    assert officer.get_record(notice.id).record.sync_state == gw.SyncState.SYNCED

    admin = await login("admin")
    await admin.sync_now()
    for mine in (report, notice, log):
        theirs = admin.get_record(mine.id).record
        assert theirs.body == mine.body
        assert theirs.location == mine.location
        for field in ("id", "kind", "author", "device", "community", "grid", "status", "created_at"):
            assert getattr(theirs, field) == getattr(mine, field), field
        assert theirs.seq is not None and theirs.sync_state == gw.SyncState.SYNCED
    body = admin.get_record(notice.id).record.body
    assert body.is_notice()
    assert body.party == gw.Party(name="张某", shop_name="老张水果店", phone="13805361234")
    assert body.deadline == today(3)
    log_body = admin.get_record(log.id).record.body
    assert log_body.activity == gw.Activity.HOME_VISIT and log_body.activity_label == "入户走访"
    assert log_body.participants == 5 and type(log_body.participants) is int
    assert log_body.complaints == ["夜间烧烤油烟扰民"]


async def test_a_grid_worker_issues_no_notices_and_changes_none(login):
    """Notices are the officers': a grid worker's phone refuses to issue or rewrite one at
    once, offline, with the reason, and queues nothing."""
    officer = await login("officer.kuiwen")
    worker = await login("grid.kw01")
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.create_notice(notice_draft())
    assert e.value.reason == gw.RejectReason.WRONG_ROLE
    notice = officer.create_notice(notice_draft())
    await officer.sync_now()
    await worker.sync_now()
    assert worker.get_record(notice.id) is not None, "seen in the worker's grid"
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.update_notice(notice.id, gw.NoticeEdit(facts="改写的事实"))
    assert e.value.reason == gw.RejectReason.WRONG_ROLE and e.value.field == "facts"
    assert worker.pending_count() == 0


async def test_edit_notice_admin_sees_it_with_history(login):
    officer = await login("officer.kuiwen")
    # Signing in took a block of the brigade's numbers: the next is shown before it is used.
    assert officer.numbers_left() == 100
    number = officer.next_notice_number()
    assert re.fullmatch(r"奎文城管告字〔\d{4}〕第\d{6}号", number), number
    assert officer.next_notice_number() == number, "asking is not using"
    notice = officer.create_notice(notice_draft(number=number))
    assert notice.body.number == number
    assert officer.numbers_left() == 99 and officer.next_notice_number() != number
    # The same number again, or one this device was never given: refused on the spot.
    for bad in (number, "奎文城管告字〔2026〕第999999号"):
        with pytest.raises(gw.GridworkError.Invalid) as e:
            officer.create_notice(notice_draft(number=bad))
        assert e.value.field == "number"
    assert e.value.reason == gw.RejectReason.NUMBER_NOT_ISSUED
    await officer.sync_now()

    edited = officer.update_notice(notice.id, gw.NoticeEdit(facts="店外占道经营，已口头劝导", deadline=today(5)))
    assert edited.body.facts == "店外占道经营，已口头劝导"
    assert edited.sync_state == gw.SyncState.PENDING
    rectified = officer.set_status(notice.id, gw.RecordStatus.NOTICE(gw.NoticeStatus.RECTIFIED))
    assert rectified.status == gw.RecordStatus.NOTICE(status=gw.NoticeStatus.RECTIFIED)
    assert rectified.status.status == gw.NoticeStatus.RECTIFIED and rectified.status_label == "已整改"
    assert officer.pending_count() == 2
    await officer.sync_now()

    detail = officer.get_record(notice.id)
    local = [h for h in detail.history if h.is_local()]
    assert [h.is_create for h in local] == [True, False, False]
    assert all(h.state == "accepted" for h in local)
    assert sorted(local[1].fields) == ["deadline", "facts"]
    assert local[2].fields == ["status"]
    assert detail.history == sorted(detail.history, key=lambda h: h.at)

    admin = await login("admin")
    await admin.sync_now()
    seen = admin.get_record(notice.id)
    assert seen.record.body.facts == "店外占道经营，已口头劝导"
    assert seen.record.body.deadline == today(5)
    assert seen.record.status == gw.RecordStatus.NOTICE(gw.NoticeStatus.RECTIFIED)
    server_entries = [h for h in seen.history if h.is_server()]
    assert server_entries and server_entries[-1].actor == officer.current_user().id
    assert isinstance(server_entries[-1].at, dt.datetime)

    # The admin's edit of a report reaches the officer, with the admin named in the history.
    report = officer.create_report(report_draft())
    await officer.sync_now()
    await admin.sync_now()
    admin.update_report(report.id, gw.ReportEdit(status=gw.ReportStatus.ACCEPTED, description="井盖缺失，已立案"))
    await admin.sync_now()
    await officer.sync_now()
    theirs = officer.get_record(report.id)
    assert theirs.record.status == gw.RecordStatus.REPORT(gw.ReportStatus.ACCEPTED)
    assert theirs.record.status_label == "已立案"
    assert theirs.record.body.description == "井盖缺失，已立案"
    by_admin = [h for h in theirs.history if h.is_server()][-1]
    assert by_admin.actor == admin.current_user().id
    assert set(by_admin.fields) == {"status", "description"}

    log = officer.create_service_log(service_log_draft())
    edit = gw.ServiceLogEdit(status=gw.ServiceLogStatus.DONE, participants=8, linked_reports=[report.id])
    done = officer.update_service_log(log.id, edit)
    assert done.status == gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.DONE)
    assert done.body.participants == 8 and done.body.linked_reports == [report.id]


async def test_list_records_filters(login):
    worker = await login("grid.kw01")
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    r1 = worker.create_report(report_draft(description="一"))
    r2 = worker.create_report(report_draft(description="二"))
    log = worker.create_service_log(service_log_draft())
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    done = gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.DONE)
    worker.set_status(log.id, done)

    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    assert ids(worker.list_records(gw.RecordFilter(kind=gw.RecordKind.REPORT))) == [r2.id, r1.id]  # newest first
    assert ids(worker.list_records(gw.RecordFilter(kind=gw.RecordKind.SERVICE_LOG, status=done))) == [log.id]
    assert ids(worker.list_records(gw.RecordFilter(status=done))) == [log.id]  # the status names its kind
    opened = gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.OPEN)
    assert worker.list_records(gw.RecordFilter(kind=gw.RecordKind.SERVICE_LOG, status=opened)) == []
    assert ids(worker.list_records(gw.RecordFilter(limit=1, offset=1))) == [r2.id]
    assert len(worker.list_records(gw.RecordFilter(mine_only=True))) == 3
    assert len(worker.list_records(gw.RecordFilter(created_from=before, created_before=after))) == 3
    assert worker.list_records(gw.RecordFilter(created_before=before)) == []
    assert worker.record_count() == 3

    await worker.sync_now()  # pulls the demo records of the grid
    me = worker.current_user().id
    everyone = worker.list_records(gw.RecordFilter())
    assert len(everyone) == worker.record_count() > 3
    mine = worker.list_records(gw.RecordFilter(mine_only=True))
    assert {r.author for r in mine} == {me}
    assert {r1.id, r2.id, log.id} <= set(ids(mine))
    assert len(mine) == len([r for r in everyone if r.author == me])

    # A status of another kind than the filter's kind, a negative page: typed errors.
    submitted = gw.RecordStatus.REPORT(gw.ReportStatus.SUBMITTED)
    with pytest.raises(gw.GridworkError.Argument) as e:
        worker.list_records(gw.RecordFilter(kind=gw.RecordKind.NOTICE, status=submitted))
    assert "status" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument) as e:
        worker.list_records(gw.RecordFilter(limit=-1))
    assert "limit" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument) as e:
        worker.list_records(gw.RecordFilter(offset=-1))
    assert "offset" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument):
        worker.list_records(gw.RecordFilter(offset=2**40))


async def test_rejected_change_with_reason_and_discard(login):
    worker = await login("grid.kw01")
    # Another district's grid: the device files it, the server refuses it.
    outside = worker.create_report(report_draft(grid=WC_GRID))
    inside = worker.create_report(report_draft())
    summary = await worker.sync_now()
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert worker.pending_count() == 0

    [rejected] = worker.rejected_changes()
    assert rejected.record_id == outside.id
    assert rejected.reason == gw.RejectReason.OUT_OF_SCOPE
    assert rejected.reason_label == "超出您的管辖范围"
    assert rejected.field == "org.grid"
    assert rejected.message and rejected.is_create and rejected.kind == gw.RecordKind.REPORT
    assert rejected.rejected_at >= rejected.created_at
    assert worker.get_record(outside.id).record.sync_state == gw.SyncState.REJECTED
    assert worker.get_record(inside.id).record.sync_state == gw.SyncState.SYNCED
    local = [h for h in worker.get_record(outside.id).history if h.is_local()]
    assert local[0].state == "rejected" and local[0].reason == gw.RejectReason.OUT_OF_SCOPE

    worker.discard_rejected(rejected.op_id)
    assert worker.rejected_changes() == []
    with pytest.raises(gw.GridworkError.NotFound):
        worker.discard_rejected(rejected.op_id)


# --- listeners and cancellation ------------------------------------------------------------


async def test_listener_events_and_task_handle_cancel(login):
    worker = await login("grid.kw01")
    recorder = Recorder()
    handle = worker.subscribe(recorder)
    assert not handle.is_cancelled()
    worker.create_report(report_draft())
    worker.create_service_log(service_log_draft())
    await worker.sync_now()
    phases = [e.phase for e in recorder.events]
    assert phases[0] == gw.SyncPhase.PUSHING and phases[-1] == gw.SyncPhase.DONE
    assert gw.SyncPhase.PULLING in phases
    pushing = [e for e in recorder.events if e.phase == gw.SyncPhase.PUSHING]
    assert pushing[-1].pushed == pushing[-1].push_total == 2
    assert recorder.events[-1].pulled > 0

    # A listener that throws does not break the sync.
    def boom(_):
        raise RuntimeError("listener bug")

    angry = worker.subscribe(Recorder(on_event=boom))
    worker.create_report(report_draft())
    await worker.sync_now()
    angry.cancel()

    seen = len(recorder.events)
    handle.cancel()
    handle.cancel()  # harmless
    assert handle.is_cancelled()
    worker.create_report(report_draft())
    await worker.sync_now()
    assert len(recorder.events) == seen

    # Dropping the handle unsubscribes too.
    dropped = Recorder()
    worker.subscribe(dropped)  # handle not kept
    await worker.sync_now()
    assert dropped.events == []


async def test_cancel_sync_mid_push_then_complete_without_duplicates(login):
    n = 1200
    officer = await login("officer.kuiwen2")
    for i in range(n):
        officer.create_report(report_draft(description=f"批量上报 {i:04d}"))
    assert officer.pending_count() == n

    # 1. cancel_sync from the listener once the first push batch is confirmed.
    def cancel_after_first_batch(p):
        if p.phase == gw.SyncPhase.PUSHING and p.pushed > 0:
            officer.cancel_sync()

    handle = officer.subscribe(Recorder(on_event=cancel_after_first_batch))
    with pytest.raises(gw.GridworkError.Cancelled):
        await officer.sync_now()
    handle.cancel()
    left = officer.pending_count()
    assert 0 < left < n

    # 2. Drop the future (what a cancelled coroutine does) after the next batch. The
    #    listener runs inside the future's poll on the event loop thread, so cancelling the
    #    task there takes effect at the task's next await, before any further batch.
    loop_thread = threading.get_ident()
    task = None

    def cancel_task_after_next_batch(p):
        if p.phase == gw.SyncPhase.PUSHING and p.pushed > 0:
            assert threading.get_ident() == loop_thread
            task.cancel()

    handle = officer.subscribe(Recorder(on_event=cancel_task_after_next_batch))
    task = asyncio.ensure_future(officer.sync_now())
    with pytest.raises(asyncio.CancelledError):
        await task
    handle.cancel()
    assert 0 < officer.pending_count() < left

    # 3. The next sync completes the work.
    await officer.sync_now()
    assert officer.pending_count() == 0
    assert officer.rejected_changes() == []
    mine = await all_records(officer, kind=gw.RecordKind.REPORT, mine_only=True)
    assert len(mine) == n and all(r.sync_state == gw.SyncState.SYNCED for r in mine)

    admin = await login("admin")
    await admin.sync_now()
    author = officer.current_user().id
    theirs = [r for r in await all_records(admin, kind=gw.RecordKind.REPORT) if r.author == author]
    descriptions = [r.body.description for r in theirs]
    assert len(theirs) == n
    assert sorted(descriptions) == [f"批量上报 {i:04d}" for i in range(n)]


# --- bad input -----------------------------------------------------------------------------


async def test_bad_input_gives_typed_errors(login):
    worker = await login("grid.kw01")
    report = worker.create_report(report_draft())

    for call in (
        lambda: worker.get_record("not-a-uuid"),
        lambda: worker.set_status("12345", gw.RecordStatus.REPORT(gw.ReportStatus.ACCEPTED)),
        lambda: worker.update_report("", gw.ReportEdit(description="x")),
        lambda: worker.discard_rejected("zzz"),
    ):
        with pytest.raises(gw.GridworkError.Argument) as e:
            call()
        assert "UUID" in e.value.msg

    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.create_report(gw.ReportDraft(grid=KW_GRID, location=location(lat=91), category="09006", description="x"))
    assert e.value.field == "location.lat" and e.value.reason == gw.RejectReason.INVALID
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.create_report(report_draft(description="   "))
    assert e.value.field == "description"
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.create_report(report_draft(grid="370705001001-99"))
    assert e.value.field == "org.grid"
    with pytest.raises(gw.GridworkError.Argument) as e:
        worker.create_notice(notice_draft(deadline="2024-13-45"))
    assert "deadline" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument) as e:
        worker.create_service_log(service_log_draft(participants=-1))
    assert "participants" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument):
        worker.create_service_log(service_log_draft(linked_reports=["nope"]))
    with pytest.raises(gw.GridworkError.Argument):  # nothing to change
        worker.update_report(report.id, gw.ReportEdit())
    with pytest.raises(gw.GridworkError.Invalid) as e:  # a report is not a notice
        worker.update_notice(report.id, gw.NoticeEdit(facts="x"))
    assert e.value.reason == gw.RejectReason.KIND_MISMATCH
    with pytest.raises(gw.GridworkError.Invalid) as e:  # only admins accept reports
        worker.set_status(report.id, gw.RecordStatus.REPORT(gw.ReportStatus.ACCEPTED))
    assert e.value.reason == gw.RejectReason.INVALID_TRANSITION
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.update_report(report.id, gw.ReportEdit(location=location(lon=200)))
    assert e.value.field == "location.lon"
    with pytest.raises(gw.GridworkError.NotFound):
        worker.set_status(str(uuid.uuid4()), gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.DONE))
    assert worker.get_record(str(uuid.uuid4())) is None

    # Nothing bad was stored, and the client still works.
    assert worker.pending_count() == 1
    assert worker.get_record(report.id).record.body.description == "人行道井盖缺失"


async def test_wrong_key_is_a_typed_error(open_client, tmp_path):
    key = "ab" * 32
    client = open_client("secret", key=key)
    device = client.device_id()
    del client
    for wrong in ("cd" * 32, "a passphrase", None):
        with pytest.raises(gw.GridworkError.WrongKey):
            open_client("secret", key=wrong)
    assert open_client("secret", key=key).device_id() == device
    assert not (tmp_path / "secret.db").read_bytes().startswith(b"SQLite format 3")

    # A passphrase works the same way.
    open_client("pass", key="correct horse battery staple")
    with pytest.raises(gw.GridworkError.WrongKey):
        open_client("pass", key="correct horse")


async def test_logout_then_sync_is_not_logged_in(login, open_client):
    worker = await login("grid.kw01")
    worker.create_report(report_draft())
    await worker.logout()
    assert worker.current_user() is None
    await worker.logout()  # again: nothing to do
    with pytest.raises(gw.GridworkError.NotLoggedIn):
        await worker.sync_now()
    with pytest.raises(gw.GridworkError.NotLoggedIn):
        worker.create_report(report_draft())
    with pytest.raises(gw.GridworkError.NotLoggedIn):
        worker.list_records(gw.RecordFilter(mine_only=True))
    # Records and pending changes stay; logging in again sends them.
    assert worker.pending_count() == 1
    await worker.login("grid.kw01", PASSWORD)
    assert (await worker.sync_now()).accepted == 1

    # A device that never logged in has no reference data either: log in once.
    fresh = open_client("fresh")
    with pytest.raises(gw.GridworkError.NoReferenceData):
        fresh.create_report(report_draft())
    with pytest.raises(gw.GridworkError.NotLoggedIn):
        await fresh.sync_now()


# --- reference data ------------------------------------------------------------------------


async def test_reference_data(open_client):
    client = open_client()
    with pytest.raises(gw.GridworkError.NoReferenceData):
        client.org_children(None)
    with pytest.raises(gw.GridworkError.NoReferenceData):
        client.categories()
    await client.login("grid.kw01", PASSWORD)

    [city] = client.org_children()
    assert (city.code, city.level, city.parent) == ("370700", gw.OrgLevel.CITY, None)
    districts = client.org_children(city.code)
    assert "370705" in {d.code for d in districts}
    grids = client.org_children(KW_COMMUNITY)
    assert KW_GRID in {g.code for g in grids}
    assert all(g.level == gw.OrgLevel.GRID and g.parent == KW_COMMUNITY for g in grids)
    assert client.org_children("no-such-org") == []

    categories = {c.code: c for c in client.categories()}
    assert categories["09006"].kind in (gw.CategoryKind.MATTER, gw.CategoryKind.COMPONENT)
    assert categories["09006"].name

    # A grid worker issues no notices, so holds no numbers.
    assert client.numbers_left() == 0
    with pytest.raises(gw.GridworkError.NoNumbers):
        client.next_notice_number()


# --- the list above is the API -------------------------------------------------------------


# --- photos --------------------------------------------------------------------------------


def noisy_jpeg(path, size=(1600, 1200)):
    """A photo-like JPEG (noise compresses like a real scene)."""
    from PIL import Image

    Image.effect_noise(size, 40).convert("RGB").save(path, quality=92)
    return path


async def test_photos_attach_wait_for_wifi_upload_and_fetch(login, tmp_path):
    import hashlib

    worker = await login("grid.kw01")
    worker.set_photo_policy(gw.PhotoPolicy.UNMETERED_ONLY)
    assert worker.photo_policy() == gw.PhotoPolicy.UNMETERED_ONLY
    worker.set_network(gw.Network.METERED)
    report = worker.create_report(report_draft(description="垃圾桶满溢"))
    photo = worker.attach_photo(report.id, str(noisy_jpeg(tmp_path / "IMG_0001.jpg")), None)
    assert (photo.width, photo.height, photo.mime, len(photo.sha256)) == (1600, 1200, "image/jpeg", 64)
    assert photo.stage is None and photo.stage_label is None
    assert worker.photo_queue() == gw.PhotoQueue(count=1, bytes=photo.bytes)
    assert worker.photo_file(photo.sha256, False) and worker.photo_file(photo.sha256, True)
    assert worker.get_record(report.id).record.body.photos == [photo]

    summary = await worker.sync_now()  # metered: the record goes, the photo waits
    assert (summary.accepted, summary.photos_uploaded) == (2, 0)
    admin = await login("admin")
    await admin.sync_now()
    assert admin.get_record(report.id).record.body.photos == [photo]
    with pytest.raises(gw.GridworkError.PhotoPending):
        await admin.fetch_photo(photo.sha256, False)
    assert worker.free_photo_space() == 0, "nothing freed before the server has it"

    summary = await worker.upload_photos()
    assert (summary.photos_uploaded, summary.photo_bytes_sent) == (1, photo.bytes)
    assert worker.photo_queue().count == 0
    path = await admin.fetch_photo(photo.sha256, False)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == photo.sha256
    assert Path(await admin.fetch_photo(photo.sha256, True)).is_file()
    assert worker.free_photo_space() == photo.bytes
    assert worker.photo_file(photo.sha256, False) is None

    detached = worker.detach_photo(report.id, photo.sha256)
    assert detached.body.photos == []
    worker.set_network(gw.Network.UNMETERED)


async def test_photo_errors_are_typed(login, tmp_path):
    worker = await login("grid.kw01")
    report = worker.create_report(report_draft())
    heic = tmp_path / "IMG_0002.HEIC"
    heic.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")
    with pytest.raises(gw.GridworkError.Photo) as e:
        worker.attach_photo(report.id, str(heic), None)
    assert e.value.code == "photo_unsupported"
    jpeg = noisy_jpeg(tmp_path / "ok.jpg", (640, 480))
    with pytest.raises(gw.GridworkError.Argument):
        worker.attach_photo("not-a-uuid", str(jpeg), None)
    with pytest.raises(gw.GridworkError.NotFound):
        worker.detach_photo(report.id, "0" * 64)
    with pytest.raises(gw.GridworkError.Argument):
        await worker.fetch_photo("../../etc/passwd", False)
    assert worker.photo_file("../../etc/passwd", False) is None
    stage = worker.attach_photo(report.id, str(jpeg), gw.PhotoStage.BEFORE)
    assert stage.stage == gw.PhotoStage.BEFORE and stage.stage_label == "整改前"


# --- cases (案件) ---------------------------------------------------------------------------


def case_status(status):
    return gw.RecordStatus.CASE(status)


async def test_a_case_through_the_loop_on_three_phones_offline(login, tmp_path):
    """立案 → 派遣 → 处置 (offline, with an after photo) → 核查 failed → 处置 → 核查 passed →
    答复: the reporting grid worker, the admin and the officer, each step synced after."""
    reporter = await login("grid.kw01")  # files the report, and checks on site (核查)
    admin = await login("admin")
    officer = await login("officer.kuiwen")
    # Whom to dispatch to: the officers in the admin's local copy of the accounts.
    officers = admin.users(gw.Role.OFFICER)
    assert officers and all(u.role == gw.Role.OFFICER for u in officers)
    assert [u.username for u in officers] == sorted(u.username for u in officers)
    officer_id = next(u.id for u in officers if u.username == "officer.kuiwen")
    assert officer_id == officer.current_user().id
    assert len(admin.users()) > len(officers)

    # 上报.
    report = reporter.create_report(report_draft(description="路边暴露垃圾，未及时清运"))
    assert (await reporter.sync_now()).accepted == 1
    assert reporter.case_of(report.id) is None, "no case yet"

    # 立案 and 派遣 on the admin's phone, offline; synced after.
    await admin.sync_now()
    source = gw.CaseSource.REPORT(id=report.id)
    opened = admin.open_case(gw.CaseDraft(source=source, category="06010", description="路边暴露垃圾"))
    assert (opened.kind, opened.kind_label) == (gw.RecordKind.CASE, "案件")
    assert (opened.status, opened.status_label) == (case_status(gw.CaseStatus.REGISTERED), "已立案")
    assert opened.body.is_case() and opened.body.number is None, "numbered by the server"
    assert opened.body.source == source and opened.body.category == "06010"
    assert (opened.grid, opened.location) == (report.grid, report.location), "the report's place"
    assert [e.action for e in opened.body.timeline] == [gw.CaseEventKind.REGISTER]
    assert opened.body.timeline[0].action_label == "立案"
    assert admin.case_remaining(opened.id) is None, "no clock before 派遣"
    to_officer = gw.Assignee.OFFICER(user_id=officer_id)
    dispatched = admin.case_step(opened.id, gw.CaseAction.DISPATCH(to=to_officer), "请尽快清运", [])
    assert dispatched.status == case_status(gw.CaseStatus.DISPATCHED) and dispatched.status_label == "处置中"
    assert dispatched.body.assignee == to_officer
    assert admin.pending_count() == 2
    summary = await admin.sync_now()
    assert (summary.accepted, summary.rejected) == (2, 0), admin.rejected_changes()
    case = admin.get_record(opened.id).record
    assert case.sync_state == gw.SyncState.SYNCED
    assert re.fullmatch(r"370705-\d{4}-\d{6}", case.body.number), case.body.number
    assert case.body.due_at is not None and case.body.dispatched_at is not None
    remaining = admin.case_remaining(case.id)
    assert type(remaining) is int and 0 < remaining <= 240, remaining  # 06010: four working hours
    assert admin.get_record(report.id).record.status == gw.RecordStatus.REPORT(gw.ReportStatus.ACCEPTED)

    # 处置 on the officer's phone, offline (no sync until done), with an "after" photo.
    await officer.sync_now()
    assert officer.get_record(case.id).record.status == case_status(gw.CaseStatus.DISPATCHED)
    officer.set_network(gw.Network.UNMETERED)
    after = officer.take_photo(str(noisy_jpeg(tmp_path / "after.jpg")), gw.PhotoStage.AFTER)
    assert (after.stage, after.stage_label, len(after.sha256)) == (gw.PhotoStage.AFTER, "整改后", 64)
    assert officer.photo_queue().count == 1, "queued for upload, attached to nothing yet"
    handled = officer.case_step(case.id, gw.CaseAction.HANDLE(), "已清运", [after])
    assert handled.status == case_status(gw.CaseStatus.HANDLED) and handled.status_label == "待核查"
    assert handled.sync_state == gw.SyncState.PENDING and officer.pending_count() == 1
    assert handled.body.photos == [after] and handled.body.timeline[-1].photos == [after.sha256]
    summary = await officer.sync_now()
    assert (summary.accepted, summary.rejected, summary.photos_uploaded) == (1, 0, 1)

    # 核查 fails (返工) on the reporter's phone: back to the officer, counted.
    await reporter.sync_now()
    assert reporter.get_record(case.id).record.status == case_status(gw.CaseStatus.HANDLED)
    failed = reporter.case_step(case.id, gw.CaseAction.VERIFY(passed=False), "现场仍有垃圾")
    assert failed.status == case_status(gw.CaseStatus.DISPATCHED) and failed.body.reworks == 1
    assert (await reporter.sync_now()).accepted == 1
    await officer.sync_now()
    back = officer.get_record(case.id).record
    assert (back.status, back.body.reworks) == (case_status(gw.CaseStatus.DISPATCHED), 1)
    officer.case_step(case.id, gw.CaseAction.HANDLE(), "已彻底清理")
    assert (await officer.sync_now()).accepted == 1

    # Two phones act on the same stage offline: the reporter passes the check, the admin
    # suspends. The first to sync wins; the other is refused as STALE_STEP and told why.
    await reporter.sync_now()
    await admin.sync_now()
    passed = reporter.case_step(case.id, gw.CaseAction.VERIFY(passed=True), "已整改")
    assert passed.status == case_status(gw.CaseStatus.CLOSED) and passed.status_label == "已结案"
    admin.case_step(case.id, gw.CaseAction.SUSPEND())
    assert (await reporter.sync_now()).accepted == 1
    assert (await admin.sync_now()).rejected == 1
    [stale] = admin.rejected_changes()
    assert (stale.reason, stale.reason_label, stale.kind) == (gw.RejectReason.STALE_STEP, "案件已被他人先行办理", gw.RecordKind.CASE)
    assert admin.get_record(case.id).record.status == case_status(gw.CaseStatus.CLOSED)
    admin.discard_rejected(stale.op_id)

    # 答复 (件件有回音), and the reporter's phone shows it with the case closed.
    reply = "您反映的暴露垃圾已清运完毕，感谢监督！"
    admin.case_step(case.id, gw.CaseAction.REPLY(text=reply))
    assert (await admin.sync_now()).accepted == 1
    await reporter.sync_now()
    seen = reporter.case_of(report.id)
    assert seen.id == case.id
    assert (seen.status, seen.status_label) == (case_status(gw.CaseStatus.CLOSED), "已结案")
    assert seen.body.reply == reply and seen.body.closed_at is not None
    assert reporter.case_remaining(case.id) is None, "closed: no clock"
    assert reporter.get_record(report.id).record.status == gw.RecordStatus.REPORT(gw.ReportStatus.CLOSED)
    timeline = seen.body.timeline
    K = gw.CaseEventKind
    assert [e.action for e in timeline] == [K.REGISTER, K.DISPATCH, K.HANDLE, K.VERIFY, K.HANDLE, K.VERIFY, K.REPLY]
    assert timeline[1].assignee == to_officer and timeline[1].due_at is not None and timeline[1].note == "请尽快清运"
    assert (timeline[2].actor, timeline[2].device) == (officer_id, officer.device_id())
    assert timeline[2].photos == [after.sha256] and timeline[2].note == "已清运"
    assert timeline[3].to_status == case_status(gw.CaseStatus.DISPATCHED) and timeline[3].to_status_label == "处置中"
    assert timeline[5].from_status == case_status(gw.CaseStatus.HANDLED)
    assert timeline[5].to_status == case_status(gw.CaseStatus.CLOSED)
    assert all(isinstance(e.at, dt.datetime) for e in timeline)
    await officer.sync_now()
    assert officer.get_record(case.id).record.body.timeline == timeline, "the same timeline on every phone"
    path = await reporter.fetch_photo(after.sha256, True)
    assert Path(path).is_file(), "the reporter sees the after photo"
    closed = reporter.list_records(gw.RecordFilter(status=case_status(gw.CaseStatus.CLOSED), limit=1000))
    assert case.id in {r.id for r in closed} and all(r.kind == gw.RecordKind.CASE for r in closed)


async def test_duplicate_hints_and_a_service_log_that_opens_cases(login):
    """While filing, the phone lists the open report of the same category within 50 m (not
    the one 200 m on), offline; complaints of a service log open cases whose progress the
    log lists."""
    first = await login("grid.kw01")
    admin = await login("admin")
    lat, lon = 36.71234, 119.17321
    near = first.create_report(gw.ReportDraft(grid=KW_GRID, location=location(lat + 0.0002, lon), category="06036",
                                              description="路边暴露垃圾"))
    far = first.create_report(gw.ReportDraft(grid=KW_GRID, location=location(lat + 0.0018, lon), category="06036",
                                             description="路边暴露垃圾"))
    hints = first.duplicate_hints("06036", lat, lon)
    assert [h.record.id for h in hints] == [near.id] and far.id not in {h.record.id for h in hints}
    assert 21.0 < hints[0].distance_m < 23.5 and type(hints[0].distance_m) is float
    assert all(h.record.id != near.id for h in first.duplicate_hints("09006", lat, lon)), "another category"
    with pytest.raises(gw.GridworkError.Argument):
        first.duplicate_hints("06036", 91.0, lon)
    # Adding to it: a report of one's own linked to the first; the hint shows the problem once.
    more = first.create_report(gw.ReportDraft(grid=KW_GRID, location=location(lat + 0.0001, lon), category="06036",
                                              description="垃圾越堆越多", duplicate_of=near.id))
    assert more.body.duplicate_of == near.id
    assert [h.record.id for h in first.duplicate_hints("06036", lat, lon)] == [near.id]
    with pytest.raises(gw.GridworkError.Argument):
        first.create_report(gw.ReportDraft(grid=KW_GRID, location=location(), category="06036", description="x",
                                           duplicate_of="not-a-uuid"))

    log = first.create_service_log(service_log_draft(complaints=["夜间烧烤油烟扰民", "共享单车乱停"]))
    assert first.cases_from(log.id) == []
    await first.sync_now()
    await admin.sync_now()
    for i, category in enumerate(["09006", "06036"]):
        admin.open_case(gw.CaseDraft(source=gw.CaseSource.SERVICE_LOG(id=log.id, complaint=i), category=category,
                                     description=f"意见{i + 1}"))
    assert (await admin.sync_now()).rejected == 0
    await first.sync_now()
    cases = first.cases_from(log.id)
    assert [c.body.source for c in cases] == [gw.CaseSource.SERVICE_LOG(id=log.id, complaint=i) for i in range(2)]
    assert all(c.status == case_status(gw.CaseStatus.REGISTERED) for c in cases)
    with pytest.raises(gw.GridworkError.Argument):
        first.cases_from("not-a-uuid")


async def test_a_stall_by_its_qr_offline_and_its_inspections(login):
    """The 小蓝棚 registry on the phone: found by its QR code, operators shown to officers
    and masked for grid workers, an inspection linked to it and listed on its page."""
    officer = await login("officer.kuiwen")
    worker = await login("grid.kw01")
    stall = officer.stall_by_qr("https://cg.weifang.example/public/stalls/KW-XLP-003")
    assert stall is not None and stall.code == "KW-XLP-003" and stall.trade_label in ("修鞋", "修车", "修锁配钥匙")
    assert stall.operator is not None and "*" not in stall.operator.phone
    masked = worker.stall_by_qr(stall.qr)
    assert masked.operator.phone != stall.operator.phone and "****" in masked.operator.phone
    assert officer.stall_by_qr("NO-SUCH-1") is None
    with pytest.raises(gw.GridworkError.Argument):
        officer.stall_by_qr("https://evil.example/x")
    near = officer.stalls_near(stall.lat, stall.lon, 300.0)
    assert near[0].code == stall.code and near[0].distance_m < 1.0
    assert all(a.distance_m <= b.distance_m for a, b in zip(near, near[1:]))
    grid = stall.community + "-01"
    notice = officer.create_notice(notice_draft(grid=grid, stall=stall.code))
    assert notice.body.stall == stall.code
    log = officer.create_service_log(service_log_draft(grid=grid, stall=stall.code))
    assert {r.id for r in officer.stall_inspections(stall.code)} == {notice.id, log.id}
    with pytest.raises(gw.GridworkError.Invalid) as e:
        officer.create_notice(notice_draft(grid=grid, stall="KW-XLP-999"))
    assert e.value.field == "stall"
    assert (await officer.sync_now()).rejected == 0


async def test_case_calls_with_bad_input_give_typed_errors(login, tmp_path):
    admin = await login("admin")
    report = admin.create_report(report_draft())
    draft = lambda source, **kw: gw.CaseDraft(source=source, category="06010", description="暴露垃圾", **kw)  # noqa: E731
    case = admin.open_case(draft(gw.CaseSource.REPORT(id=report.id)))
    pending = admin.pending_count()

    # open_case: a bad id, a negative index, half a place; an unknown source; a grid worker.
    with pytest.raises(gw.GridworkError.Argument) as e:
        admin.open_case(draft(gw.CaseSource.REPORT(id="not-a-uuid")))
    assert "source.id" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument) as e:
        admin.open_case(draft(gw.CaseSource.SERVICE_LOG(id=str(uuid.uuid4()), complaint=-1)))
    assert "source.complaint" in e.value.msg
    with pytest.raises(gw.GridworkError.Argument):
        admin.open_case(draft(gw.CaseSource.HOTLINE(), grid=KW_GRID))
    with pytest.raises(gw.GridworkError.Argument):
        admin.open_case(draft(gw.CaseSource.HOTLINE()))  # a call has no record to take the place from
    with pytest.raises(gw.GridworkError.NotFound):
        admin.open_case(draft(gw.CaseSource.REPORT(id=str(uuid.uuid4()))))
    hotline = admin.open_case(draft(gw.CaseSource.HOTLINE(), grid=KW_GRID, location=location()))
    assert hotline.grid == KW_GRID and hotline.body.source == gw.CaseSource.HOTLINE()
    worker = await login("grid.kw01")
    mine = worker.create_report(report_draft())
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.open_case(draft(gw.CaseSource.REPORT(id=mine.id)))
    assert e.value.reason == gw.RejectReason.WRONG_ROLE and e.value.msg

    # case_step: bad and unknown ids, negative minutes, a bad photo; steps the rules refuse here.
    with pytest.raises(gw.GridworkError.Argument) as e:
        admin.case_step("zzz", gw.CaseAction.HANDLE())
    assert "UUID" in e.value.msg
    with pytest.raises(gw.GridworkError.NotFound):
        admin.case_step(str(uuid.uuid4()), gw.CaseAction.HANDLE())
    with pytest.raises(gw.GridworkError.Argument) as e:
        admin.case_step(case.id, gw.CaseAction.REQUEST_EXTENSION(working_minutes=-5))
    assert "working_minutes" in e.value.msg
    photo = admin.take_photo(str(noisy_jpeg(tmp_path / "p.jpg", (320, 240))))
    assert photo.stage is None and (photo.width, photo.height) == (320, 240)
    with pytest.raises(gw.GridworkError.Argument) as e:
        bad = gw.PhotoInfo(**{**vars(photo), "bytes": -1})
        admin.case_step(case.id, gw.CaseAction.NOTE(), "x", [bad])
    assert "photos.bytes" in e.value.msg
    refused = [
        (admin, case.id, gw.CaseAction.HANDLE(), gw.RejectReason.INVALID_TRANSITION),  # not dispatched
        (admin, case.id, gw.CaseAction.REQUEST_EXTENSION(working_minutes=60), gw.RejectReason.NOT_ASSIGNEE),
        (admin, case.id, gw.CaseAction.MARK_OVERDUE(), gw.RejectReason.WRONG_ROLE),  # the server's own
        (admin, case.id, gw.CaseAction.NOTE(), gw.RejectReason.INVALID),  # a note needs its note
        (admin, case.id, gw.CaseAction.DISPATCH(to=gw.Assignee.UNIT(code=KW_GRID)), gw.RejectReason.INVALID),
        (admin, report.id, gw.CaseAction.HANDLE(), gw.RejectReason.KIND_MISMATCH),  # not a case
        (worker, mine.id, gw.CaseAction.VERIFY(passed=True), gw.RejectReason.KIND_MISMATCH),
    ]
    for client, record_id, action, reason in refused:
        with pytest.raises(gw.GridworkError.Invalid) as e:
            client.case_step(record_id, action)
        assert e.value.reason == reason, (action, e.value)
    with pytest.raises(gw.GridworkError.Invalid) as e:  # a case moves only by its steps
        admin.set_status(case.id, case_status(gw.CaseStatus.CLOSED))
    assert (e.value.reason, e.value.field) == (gw.RejectReason.INVALID_TRANSITION, "status")

    # take_photo: not a photo we take in.
    heic = tmp_path / "IMG_0003.HEIC"
    heic.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")
    with pytest.raises(gw.GridworkError.Photo) as e:
        admin.take_photo(str(heic), gw.PhotoStage.AFTER)
    assert e.value.code == "photo_unsupported"

    # case_of and case_remaining.
    with pytest.raises(gw.GridworkError.Argument):
        admin.case_of("not-a-uuid")
    assert admin.case_of(str(uuid.uuid4())) is None
    assert admin.case_of(case.id) is None, "a case is opened from records, not from itself"
    assert admin.case_of(report.id).id == case.id
    with pytest.raises(gw.GridworkError.Argument):
        admin.case_remaining("not-a-uuid")
    with pytest.raises(gw.GridworkError.NotFound):
        admin.case_remaining(str(uuid.uuid4()))
    with pytest.raises(gw.GridworkError.Argument):
        admin.case_remaining(report.id)  # not a case
    assert admin.case_remaining(case.id) is None

    assert admin.pending_count() == pending + 1, "only the hotline case was queued"


# --- enums, numbers, odd input ------------------------------------------------------------


async def test_status_is_an_enum_both_ways_and_a_wrong_kind_is_refused(login):
    officer = await login("officer.kuiwen")
    notice = officer.create_notice(notice_draft())
    report = officer.create_report(report_draft())
    assert notice.status == gw.RecordStatus.NOTICE(gw.NoticeStatus.ISSUED)
    assert notice.status.is_NOTICE() and not notice.status.is_REPORT()

    # 已告知 → 逾期未整改 → 已移交立案 → 已整改, each read back as the same enum.
    steps = [
        (gw.NoticeStatus.OVERDUE, "逾期未整改"),
        (gw.NoticeStatus.ESCALATED, "已移交立案"),
        (gw.NoticeStatus.RECTIFIED, "已整改"),
    ]
    for step, label in steps:
        status = gw.RecordStatus.NOTICE(step)
        shown = officer.set_status(notice.id, status)
        assert (shown.status, shown.status_label) == (status, label)
        assert officer.get_record(notice.id).record.status == status
    assert officer.update_notice(notice.id, gw.NoticeEdit(status=gw.NoticeStatus.RECTIFIED)).status_label == "已整改"

    # A status of another kind is refused with a typed error; nothing is queued.
    pending = officer.pending_count()
    for record, status in (
        (report, gw.RecordStatus.NOTICE(gw.NoticeStatus.RECTIFIED)),
        (notice, gw.RecordStatus.REPORT(gw.ReportStatus.ACCEPTED)),
        (notice, gw.RecordStatus.SERVICE_LOG(gw.ServiceLogStatus.DONE)),
    ):
        with pytest.raises(gw.GridworkError.Invalid) as e:
            officer.set_status(record.id, status)
        assert e.value.reason == gw.RejectReason.KIND_MISMATCH and e.value.msg
    # A status of the right kind the state machine does not allow: INVALID_TRANSITION.
    with pytest.raises(gw.GridworkError.Invalid) as e:
        officer.set_status(notice.id, gw.RecordStatus.NOTICE(gw.NoticeStatus.ISSUED))
    assert e.value.reason == gw.RejectReason.INVALID_TRANSITION and e.value.field == "status"
    assert officer.pending_count() == pending

    await officer.sync_now()
    admin = await login("admin")
    await admin.sync_now()
    theirs = admin.get_record(notice.id).record
    assert theirs.status == gw.RecordStatus.NOTICE(gw.NoticeStatus.RECTIFIED)
    rectified = gw.RecordFilter(status=gw.RecordStatus.NOTICE(gw.NoticeStatus.RECTIFIED), limit=1000)
    assert notice.id in {r.id for r in admin.list_records(rectified)}
    assert all(r.kind == gw.RecordKind.NOTICE for r in admin.list_records(rectified))


async def test_counts_and_sizes_are_plain_integers(login):
    worker = await login("grid.kw01")
    log = worker.create_service_log(service_log_draft(participants=12))
    assert log.body.participants == 12
    counts = [worker.pending_count(), worker.record_count(), worker.photo_queue().count, worker.photo_queue().bytes]
    assert counts == [1, 1, 0, 0] and all(type(n) is int for n in counts)
    summary = await worker.sync_now()
    assert all(type(getattr(summary, f)) is int and getattr(summary, f) >= 0 for f in vars(summary))
    assert summary.bytes_sent > 0 and summary.round_trips > 0
    seq = worker.get_record(log.id).record.seq
    assert type(seq) is int and seq > 0
    server = [h for h in worker.get_record(log.id).history if h.is_server()]
    assert all(type(h.seq) is int for h in server)
    # Negative numbers are typed errors, in drafts and edits alike.
    for call in (
        lambda: worker.create_service_log(service_log_draft(participants=-1)),
        lambda: worker.update_service_log(log.id, gw.ServiceLogEdit(participants=-3)),
    ):
        with pytest.raises(gw.GridworkError.Argument) as e:
            call()
        assert "participants" in e.value.msg
    # Too many is the core's rule: Invalid.
    with pytest.raises(gw.GridworkError.Invalid) as e:
        worker.update_service_log(log.id, gw.ServiceLogEdit(participants=2**31 - 1))
    assert e.value.field == "participants"
    assert worker.pending_count() == 0


async def test_another_users_pending_change_refuses_a_second_login(login, open_client):
    worker = await login("grid.kw01", name="shared")
    report = worker.create_report(report_draft())
    # Signed in, and signed out: the owner's unsent change keeps the device theirs.
    with pytest.raises(gw.GridworkError.OtherUsersData) as e:
        await worker.login("officer.kuiwen", PASSWORD)
    assert "其他用户" in e.value.msg
    assert worker.current_user().username == "grid.kw01"
    await worker.logout()
    with pytest.raises(gw.GridworkError.OtherUsersData):
        await worker.login("officer.kuiwen", PASSWORD)
    assert worker.current_user() is None
    assert worker.pending_count() == 1 and worker.get_record(report.id) is not None

    # Once it is sent, the next account may sign in, and starts clean.
    await worker.login("grid.kw01", PASSWORD)
    await worker.sync_now()
    await worker.logout()
    officer = await worker.login("officer.kuiwen", PASSWORD)
    assert officer.username == "officer.kuiwen"
    assert worker.get_record(report.id) is None and worker.pending_count() == 0


async def test_odd_input_is_a_typed_error_never_a_panic(login, open_client, tmp_path):
    # 64 bytes that are not 64 hex digits (multi-byte characters): a passphrase.
    wide = "密" * 21 + "x"
    assert len(wide.encode()) == 64
    device = open_client("wide", key=wide).device_id()
    assert open_client("wide", key=wide).device_id() == device
    with pytest.raises(gw.GridworkError.WrongKey):
        open_client("wide", key="密" * 21 + "y")

    worker = await login("grid.kw01")
    report = worker.create_report(report_draft())
    odd = ["", " ", "é" * 64, "密" * 22, "\x00" * 64, "../" * 30, "0" * 63 + "é"]
    for s in odd:
        assert worker.photo_file(s, False) is None and worker.photo_file(s, True) is None
        for call in (
            lambda: worker.get_record(s),
            lambda: worker.set_status(s, gw.RecordStatus.REPORT(gw.ReportStatus.VOIDED)),
            lambda: worker.discard_rejected(s),
            lambda: worker.detach_photo(report.id, s),
            lambda: worker.attach_photo(report.id, str(tmp_path / s.replace("/", "_")), None),
            lambda: worker.create_report(report_draft(grid=s)),
            lambda: worker.create_notice(notice_draft(deadline=s)),
            lambda: worker.create_service_log(service_log_draft(date=s)),
            lambda: worker.org_children(s),
        ):
            try:
                call()
            except gw.GridworkError:
                pass
        with pytest.raises(gw.GridworkError):
            await worker.fetch_photo(s, False)
    far = dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)
    assert worker.list_records(gw.RecordFilter(created_from=far)) == []
    assert worker.pending_count() == 1


def test_every_export_is_covered():
    for cls_name, methods in EXPORTED.items():
        cls = getattr(gw, cls_name)
        public = {n for n in vars(cls) if not n.startswith("_")}
        assert public == set(methods), f"{cls_name}: update EXPORTED"
    source = Path(__file__).read_text(encoding="utf-8")
    body = source.split("def test_every_export_is_covered", 1)[0].split("EXPORTED = {", 1)[1].split("\n}\n", 1)[1]
    # The other test files of this suite call their part (printing: test_print.py).
    body += "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name)
    missing = [m for ms in EXPORTED.values() for m in ms if not re.search(rf"\.{m}\(", body)]
    assert not missing, f"never called: {missing}"
