"""The review pages in a real browser (issue 26 items 1, 2, 4; docs/web.md): Debian's Chromium
driven by Playwright, against `zfjl web` serving a vault of its own (direct mode) in a child
process, and `zfjl serve --http` handing out a link through the socket.

One browser for the module; screenshots at 1366x768 into build/test-artefacts/web/ for a
person to look at."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from zfjl.vault import Vault
from zfjl.vault.web_sessions import SessionStore

from .conftest import copy_vault, zfjl_run
from .web_fixtures import CHROMIUM, shared_browser, start_web, stop_web

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artefacts" / "web"
VIEWPORT = {"width": 1366, "height": 768}
UNIT = "天元大队"
FAR = "2099-12-31"


@dataclass
class Site:
    root: Path
    base: str
    first_link: str
    granted: str  # a video of CASE-2024-031 the user may view (a view grant on it)
    hevc: str  # an H.265 camera file (no browser plays it) the user may view
    refused: str  # a video nobody granted
    draw: str  # SC-n, drawn by the user (legal)
    drawn: str  # a recording of that draw


def _journal(root: Path, kind: str, subject: str | None = None) -> list[dict[str, Any]]:
    from zfjl.vault.journal import read_events

    with Vault.open(root) as v:
        return [e.as_dict() for e in read_events(v.conn, subject) if e.kind == kind]


def _hevc_card(folder: Path) -> Path:
    """A camera card holding one 2-s H.265/AAC recording, as newer cameras write them."""
    folder.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=25:duration=2", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=2", "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac",
                    str(folder / "DSJ05_20240801_100000_0001.MP4")], check=True)  # fmt: skip
    return folder


def _prepare(root: Path) -> tuple[str, str, str, str, str]:
    from zfjl import spotcheck
    from zfjl.access import add_grant
    from zfjl.devices.registry import add_device
    from zfjl.vault.query import RecordingFilter, list_recordings
    from zfjl.vault.settings import add_role

    me = Vault.open(root)
    try:
        add_role(me, me.actor, "legal", approval_no="局批〔2024〕8号")
        videos = [r["id"] for r in list_recordings(me, RecordingFilter(kind="video"))]
        granted, refused = videos[0], videos[3]  # 2024-05-06 DSJ01; 2024-06-04 DSJ02
        add_grant(me, me.actor, granted, scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕9号", until=FAR, purpose="核查")  # fmt: skip
        add_device(me, "DSJ02", model=None, serial=None, unit=UNIT, assigned_to="10002",
                   since="2024-01-01")  # fmt: skip
        drawn = spotcheck.draw(me, UNIT, "2024-06", 1)  # the vault's seed: a view approval
        item = next(i["id"] for i in drawn["items"] if i["kind"] == "recording")
        from zfjl.ingest import ingest

        ingest(me, _hevc_card(root.parent / "card"))
        hevc = list_recordings(me, RecordingFilter(device="DSJ05"))[0]["id"]
        add_grant(me, me.actor, hevc, scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕10号", until=FAR, purpose="核查")  # fmt: skip
        return granted, hevc, refused, drawn["draw"], item
    finally:
        me.close()


# The request deadline of this module's server (zfjl.web.http.REQUEST_SECONDS is 5): the
# trickling test waits for it, and a browser's requests arrive whole within milliseconds.
REQUEST_SECONDS = 3


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_cases_template: Path) -> Iterator[Site]:
    root = copy_vault(sample_cases_template, tmp_path_factory.mktemp("web") / "vault")
    granted, hevc, refused, draw, drawn = _prepare(root)
    proc, first = start_web(root, request_seconds=REQUEST_SECONDS)
    assert first.get("expires_in") == 60, first
    parts = urlsplit(first["url"])
    try:
        yield Site(root, f"{parts.scheme}://{parts.netloc}", first["url"], granted, hevc,
                   refused, draw, drawn)  # fmt: skip
    finally:
        stop_web(proc)


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Any:
    """One Chromium for the test process (tests/web_fixtures.py): this module's contexts."""
    return shared_browser(request.config)


@pytest.fixture(scope="module")
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A browser tab logged in with the link `zfjl web` printed."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    tab = context.new_page()
    tab.goto(site.first_link)
    tab.wait_for_url(f"{site.base}/recordings")
    yield tab
    context.close()


def _shot(tab: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTEFACTS / f"{name}.png"))


def _wait_playable(tab: Any, seconds: float = 10.0) -> None:
    """The page's <video> reaches HAVE_FUTURE_DATA (readyState >= 3): it plays. Polled from
    here: the pages' CSP (script-src 'self') forbids wait_for_function's eval."""
    deadline = time.monotonic() + seconds
    state = 0
    while time.monotonic() < deadline:
        state = tab.evaluate("() => document.querySelector('video')?.readyState ?? -1")
        if state >= 3:
            return
        time.sleep(0.05)
    raise AssertionError(f"the video did not become playable (readyState {state})")


def _link(site: Site, *, age: float = 0.0) -> str:
    store = SessionStore(site.root, clock=lambda: time.time() - age)
    return f"{site.base}/login?t={store.new_link(os.getuid())}"


# -- 1. identity without passwords --------------------------------------------------------------
def test_a_login_link_works_once_and_starts_a_strict_httponly_session(
    browser: Any, site: Site, page: Any
) -> None:
    assert page.locator("h1").inner_text() == "音像记录"
    cookie = next(c for c in page.context.cookies() if c["name"] == "zfjl_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > time.time()
    other = browser.new_context(viewport=VIEWPORT)
    try:
        tab = other.new_page()
        reused = tab.goto(site.first_link)  # the same link a second time: refused
        assert reused.status == 403 and "已用过、已过期" in tab.inner_text("main")
        expired = tab.goto(_link(site, age=61))  # made 61 s ago: past its minute
        assert expired.status == 403
        assert tab.goto(f"{site.base}/recordings").status == 401  # and no session came of it
        _shot(tab, "login-refused")
    finally:
        other.close()


def test_logout_ends_the_session(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        tab.goto(_link(site))
        tab.wait_for_url(f"{site.base}/recordings")
        tab.get_by_role("button", name="退出").click()
        tab.wait_for_load_state()
        assert "已退出" in tab.inner_text("main")
        assert tab.goto(f"{site.base}/recordings").status == 401
    finally:
        context.close()


# -- 2. pages -----------------------------------------------------------------------------------
def test_search_by_device_and_case(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/recordings")
    page.fill("input[name=device]", "DSJ02")
    page.select_option("select[name=kind]", "video")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**device=DSJ02**")
    devices = page.locator("table.list tbody tr td:nth-child(3)").all_inner_texts()
    assert devices and set(devices) == {"DSJ02"} and len(devices) == 6  # the 6 videos of DSJ02
    _shot(page, "search")
    page.goto(f"{site.base}/recordings?case=CASE-2024-031")
    assert "共 3 条" in page.inner_text("p.count")


def test_a_granted_recording_plays_and_its_view_is_journaled_first(page: Any, site: Site) -> None:
    before = len(_journal(site.root, "access.view", site.granted))
    page.goto(f"{site.base}/recordings/{site.granted[:12]}")
    _wait_playable(page)
    views = _journal(site.root, "access.view", site.granted)
    assert len(views) == before + 1  # many ranges, one journaled view per session
    assert views[-1]["data"]["grant"].startswith("G-") and "网页播放" in views[-1]["data"]["copy"]
    assert "G-" in page.inner_text("section.player") and "保管日志" in page.inner_text("main")
    _shot(page, "recording-granted")


def test_an_hevc_recording_gets_a_playable_proxy_and_plays_it(page: Any, site: Site) -> None:
    """No browser plays H.265: the page offers a proxy; made once (a derivative, the original
    unchanged), it plays, and the view is journaled on the original naming the proxy."""
    page.goto(f"{site.base}/recordings/{site.hevc[:12]}")
    assert page.locator("video").count() == 1 and "浏览器无法播放" in page.inner_text(".player")
    page.get_by_role("button", name="生成可播放副本").click()
    page.wait_for_url("**derivative=**")
    _wait_playable(page)
    proxy = page.url.rsplit("derivative=", 1)[1]
    made = _journal(site.root, "derivative.make", site.hevc)
    assert made and made[-1]["data"]["id"] == proxy
    views = _journal(site.root, "access.view", site.hevc)
    assert views and f"派生件 {proxy[:12]}" in views[-1]["data"]["copy"]
    assert "播放副本" in page.inner_text(".derivatives")
    _shot(page, "recording-proxy")
    page.goto(f"{site.base}/recordings/{site.hevc[:12]}")  # later: the proxy plays at once
    assert f"derivative={proxy}" in (page.locator("video").get_attribute("src") or "")


def test_media_answers_ranges(page: Any, site: Site) -> None:
    url = f"{site.base}/recordings/{site.granted}/media"
    part = page.request.get(url, headers={"Range": "bytes=0-99"})
    assert part.status == 206 and len(part.body()) == 100
    assert part.headers["content-range"].startswith("bytes 0-99/")
    assert page.request.get(url, headers={"Range": "bytes=999999999-"}).status == 416


def test_a_refused_recording_shows_why_and_is_journaled(page: Any, site: Site) -> None:
    before = len(_journal(site.root, "access.denied", site.refused))
    shown = page.goto(f"{site.base}/recordings/{site.refused[:12]}")
    assert shown.status == 403
    assert "无查阅批准" in page.inner_text(".refusal") and page.locator("video").count() == 0
    media = page.request.get(f"{site.base}/recordings/{site.refused}/media")
    assert media.status == 403 and len(media.body()) < 20_000  # a page, not the video
    denied = _journal(site.root, "access.denied", site.refused)
    assert len(denied) == before + 2  # the page and the media request, each journaled
    assert all(d["data"]["action"] == "view" for d in denied)
    _shot(page, "recording-refused")


def test_a_case_shows_its_check_and_timeline(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/cases/CASE-2024-031")
    assert page.locator(".tl-row").count() >= 2
    assert page.locator("a.tl-rec").count() >= 2 and "违反" in page.inner_text(".verdict")
    _shot(page, "case")
    page.locator("a.tl-rec").first.click(position={"x": 40, "y": 8})
    page.wait_for_url("**/recordings/**#t=**")
    assert float(page.url.rsplit("#t=", 1)[1]) > 0  # from where the bar was clicked
    page.goto(f"{site.base}/cases/CASE-2024-045")
    _shot(page, "case-045")


def test_a_spot_check_item_plays_under_the_draw_and_its_result_reaches_the_ledger(
    page: Any, site: Site
) -> None:
    page.goto(f"{site.base}/spotchecks?draw={site.draw}")
    item = page.locator(f"#item-{site.drawn[:12]}")
    item.get_by_role("link", name="播放并查看详情").click()
    _wait_playable(page)
    views = _journal(site.root, "access.view", site.drawn)
    assert views and views[-1]["data"]["grant"] == site.draw  # the draw is the approval
    page.go_back()
    item = page.locator(f"#item-{site.drawn[:12]}")
    item.get_by_label("事先告知正在录音录像（第五十条）").check()
    item.get_by_label("基本合格").check()
    item.locator("input[name=note]").fill("未告知录像")
    _shot(page, "spotcheck-filled")
    item.get_by_role("button", name="登记结果").click()
    page.wait_for_url("**saved=**")
    assert "已记入检查台帐" in page.inner_text("p.ok")
    _shot(page, "spotcheck-saved")
    ledger = zfjl_run("--vault", str(site.root), "spotcheck", "ledger", "--json", check=True)
    row = next(r for r in json.loads(ledger.stdout) if r["item"] == site.drawn)
    assert (row["result"], row["failed"], row["note"]) == ("minor", ["notice"], "未告知录像")


def test_a_post_without_the_csrf_token_or_from_elsewhere_is_refused(page: Any, site: Site) -> None:
    def result() -> str | None:
        ledger = zfjl_run("--vault", str(site.root), "spotcheck", "ledger", "--json", check=True)
        return next(r for r in json.loads(ledger.stdout) if r["item"] == site.drawn)["result"]

    before = result()
    page.goto(f"{site.base}/spotchecks?draw={site.draw}")
    url = f"{site.base}/spotchecks/{site.draw}/record"
    form = {"item": site.drawn, "result": "fail", "failed": "civility"}
    no_token = page.request.post(url, form=form, headers={"Origin": site.base})
    assert no_token.status == 403 and "CSRF" in no_token.text()
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    foreign = page.request.post(url, form={**form, "csrf": token},
                                headers={"Origin": "http://evil.example"})  # fmt: skip
    assert foreign.status == 403
    assert result() == before != "fail"  # neither was recorded


def test_another_host_name_is_refused(site: Site) -> None:
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host."""
    parts = urlsplit(site.base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    conn.request("GET", "/recordings", headers={"Host": f"evil.example:{parts.port}"})
    assert conn.getresponse().status == 400


def test_grants_are_entered_on_the_page_by_the_legal_section(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/grants")
    page.fill("input[name=user]", "clerk9")
    page.fill("input[name=target]", "CASE-2024-045")
    page.fill("input[name=approved_by]", "王局长")
    page.fill("input[name=approval_no]", "局批〔2024〕21号")
    page.fill("input[name=until]", FAR)
    page.get_by_role("button", name="登记批准").click()
    page.wait_for_load_state()
    assert "已登记 G-" in page.inner_text("p.ok")
    added = _journal(site.root, "grant.add", "case:CASE-2024-045")
    assert added[-1]["data"]["user"] == "clerk9" and added[-1]["data"]["approval_no"] == "局批〔2024〕21号"
    _shot(page, "grants")


# -- through the service --------------------------------------------------------------------------
CLERK = "zfjlweb_clerk"  # an OS user of this file's own, made by the test


def test_zfjl_web_through_the_service_gives_a_link_bound_to_the_callers_uid(
    tmp_path: Path, site: Site
) -> None:
    """`zfjl serve --http 127.0.0.1:0`: `zfjl web --print-url`, run by another OS user, asks
    over the socket; the service knows the caller by SO_PEERCRED and the link it hands out
    acts as that user — their refusal is journaled under their name, not the service's."""
    if os.geteuid() != 0:
        pytest.skip("a station is set up as root")
    from .test_service import _ensure_user, as_user

    clerk = _ensure_user(CLERK)
    root = copy_vault(site.root, tmp_path / "vault")
    run = Path(tempfile.mkdtemp(prefix="zfjl-web-"))  # the service's (root's) socket folder
    home = Path(tempfile.mkdtemp(prefix="zfjl-web-home-"))
    try:
        os.chmod(run, 0o755)
        os.chown(home, clerk.pw_uid, clerk.pw_gid)
        sock = run / "zfjl.sock"
        env = {**os.environ, "ZFJL_ETC": str(run / "etc"), "ZFJL_SOCKET": str(sock)}
        env.pop("ZFJL_VAULT", None)
        serve = subprocess.Popen(
            [sys.executable, "-m", "zfjl", "--vault", str(root), "serve", "--socket", str(sock),
             "--http", "127.0.0.1:0", "--json"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        try:
            assert serve.stdout is not None
            text = ""
            while not text.rstrip().endswith("}"):  # the ready line(s): one JSON object
                text += serve.stdout.readline()
            started = json.loads(text)
            from zfjl.service.client import main as zfjl_client

            asked = as_user(CLERK, lambda: zfjl_client(["web", "--print-url"]), cwd=home,
                            env={"ZFJL_SOCKET": str(sock), "ZFJL_ETC": str(run / "etc")})  # fmt: skip
            assert asked.code == 0, asked.err
            link = urlsplit(asked.out.strip())
            assert f"{link.scheme}://{link.netloc}" == started["http"]

            def ask(path: str, cookie: str = "") -> dict[str, Any]:
                conn = http.client.HTTPConnection(link.hostname or "", link.port, timeout=5)
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                resp = conn.getresponse()
                return {"status": resp.status, "cookie": resp.getheader("Set-Cookie") or "",
                        "body": resp.read().decode("utf-8", "replace")}  # fmt: skip

            def as_clerk(path: str, cookie: str = "") -> dict[str, Any]:
                """From the clerk's own process: the kernel's owner of the connection."""
                done = as_user(CLERK, lambda: print(json.dumps(ask(path, cookie))) or 0, cwd=home,
                               env={})  # fmt: skip
                assert done.code == 0, done.err
                return dict(json.loads(done.out))

            assert ask(f"/login?{link.query}")["status"] == 403  # root's browser: not its link
            login = as_clerk(f"/login?{link.query}")  # and that did not use it up
            cookie = login["cookie"]
            assert login["status"] == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
            session = cookie.split(";")[0]
            page = as_clerk(f"/recordings/{site.granted}", session)
            assert page["status"] == 403 and CLERK in page["body"]  # root's grant is not theirs
            denied = _journal(root, "access.denied", site.granted)
            assert denied[-1]["actor"] == CLERK and denied[-1]["data"]["user"] == CLERK
            assert ask("/recordings", session)["status"] == 401  # the cookie replayed by root
            assert as_clerk(f"/login?{link.query}")["status"] == 403  # once only

            import webbrowser  # here: the test's user cannot read this Python's own folder

            from zfjl.service import client

            def typed_on_a_terminal() -> int:  # plain `zfjl web`: the client opens the link
                def opened(url: str, *a: Any, **k: Any) -> bool:
                    page = Path(url.removeprefix("file://"))
                    print(f"OPENED {url} {oct(page.stat().st_mode & 0o777)} {page.read_text()}")
                    return True

                webbrowser.open = opened
                return client.open_web_link(sock)

            opened = as_user(CLERK, typed_on_a_terminal, cwd=home,
                             env={"ZFJL_SOCKET": str(sock), "ZFJL_ETC": str(run / "etc")})  # fmt: skip
            assert opened.code == 0, opened.err
            shown, _, line = opened.out.partition("OPENED ")
            url, mode, html = line.split(" ", 2)
            secret = shown.strip().rsplit("/login?t=", 1)[1]
            assert url.startswith("file:///") and secret not in url  # a browser's command line
            assert mode == "0o600" and f"url={started['http']}/login?t={secret}" in html
        finally:
            serve.terminate()
            serve.wait(10)
    finally:
        shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def test_the_timeline_marks_what_no_video_covers() -> None:
    """A document 10:00–10:30 with videos 10:00–10:10 and 10:20–10:40: 10:10–10:20 is marked,
    drawn where it falls on the row (the row spans 10:00–10:40)."""
    from zfjl.web.timeline import case_timeline

    def at(hm: str) -> str:
        return f"2024-05-06T{hm}:00+08:00"

    case = {
        "documents": [{"id": "d1", "type": "现场检查笔录", "start": at("10:00"), "end": at("10:30")},
                      {"id": "d2", "type": "立案审批表", "date": at("14:00")}],
        "media": [{"recording": "a" * 64, "kind": "video", "start": at("10:00"),
                   "end": at("10:10"), "document": "d1", "activity": "现场检查"},
                  {"recording": "b" * 64, "kind": "video", "start": at("10:20"),
                   "end": at("10:40"), "document": "d1", "activity": "现场检查"},
                  {"recording": "c" * 64, "kind": "photo", "start": at("10:12"),
                   "end": at("10:12"), "document": "d1", "activity": "现场检查"}],
    }  # fmt: skip
    (row,) = case_timeline(case)  # d2 states no span: no row
    assert [(g.start.strftime("%H:%M"), g.end.strftime("%H:%M")) for g in row.gaps] == [("10:10", "10:20")]
    assert (row.gaps[0].left, row.gaps[0].width) == (25.0, 25.0)  # a photo covers no span
    assert [b.recording[0] for b in row.recordings] == ["a", "b", "c"]
    assert (row.span.left, row.span.width) == (0.0, 75.0)


def test_a_draw_approves_viewing_only_its_items_and_only_for_the_legal_section(
    sample_cases_vault: Vault,
) -> None:
    """`authorize_drawn`: the draw (made by an approving role) releases what it drew to an
    approving viewer, journaled as `SC-n`; a recording it did not draw, or a viewer without
    an approving role, is refused and the refusal journaled."""
    from zfjl import spotcheck
    from zfjl.access.authority import authorize_drawn
    from zfjl.devices.registry import add_device
    from zfjl.errors import AccessDenied, NotPermitted
    from zfjl.vault.actor import _SERVED_UID, act_for
    from zfjl.vault.query import RecordingFilter, list_recordings
    from zfjl.vault.settings import add_role

    v = sample_cases_vault
    add_role(v, v.actor, "legal", approval_no="局批〔2024〕8号")  # the vault's admin, now legal too
    add_device(v, "DSJ02", model=None, serial=None, unit=UNIT, assigned_to="10002",
               since="2024-01-01")  # fmt: skip
    drawn = spotcheck.draw(v, UNIT, "2024-06", 1)
    item = next(i["id"] for i in drawn["items"] if i["kind"] == "recording")
    other = next(r["id"] for r in list_recordings(v, RecordingFilter(kind="video")) if r["id"] != item)
    assert authorize_drawn(v, item, drawn["draw"], purpose=None).grants == {item: drawn["draw"]}
    with pytest.raises(AccessDenied, match="没有抽中"):
        authorize_drawn(v, other, drawn["draw"], purpose=None)
    # a seed the drawer chose picks what they want to see; a huge n is a fishing trip
    chosen = spotcheck.draw(v, UNIT, "2024-06", 1, seed="web")
    rigged = next(i["id"] for i in chosen["items"] if i["kind"] == "recording")
    with pytest.raises(AccessDenied, match="随机种子由抽取人指定"):
        authorize_drawn(v, rigged, chosen["draw"], purpose=None)
    wide = spotcheck.draw(v, UNIT, "2024-06", 21)
    wide_item = next(i["id"] for i in wide["items"] if i["kind"] == "recording")
    with pytest.raises(AccessDenied, match="超过 20 项"):
        authorize_drawn(v, wide_item, wide["draw"], purpose=None)
    add_role(v, "uid:54322", "admin", approval_no="局批〔2024〕12号")
    act_for(54321)  # a clerk of no role, as a service child acts for its peer
    try:
        clerk = Vault.open(v.root)
        with pytest.raises(AccessDenied, match="法规科"):
            authorize_drawn(clerk, item, drawn["draw"], purpose=None)
        with pytest.raises(NotPermitted, match="登记抽查结果"):  # nor record its result
            spotcheck.record(clerk, item, "pass", draw_id=drawn["draw"])
        clerk.close()
        act_for(54322)  # an administrator keeps the vault: a draw is no approval for them
        admin = Vault.open(v.root)
        with pytest.raises(AccessDenied, match="法规科或局长"):
            authorize_drawn(admin, item, drawn["draw"], purpose=None)
        admin.close()
    finally:
        _SERVED_UID.clear()
    refusals = [e for e in _journal(v.root, "access.denied") if e["subject"] in (item, other)]
    pairs = [(e["subject"], e["actor"]) for e in refusals]
    assert (other, v.actor) in pairs and pairs[-2:] == [(item, "uid:54321"), (item, "uid:54322")]


def test_the_search_agrees_with_zfjl_ls(sample_cases_vault: Vault) -> None:
    """The page's query (`search_recordings`) finds what `zfjl ls` finds for the same filter,
    newest first, the officer derived the same way; a destroyed recording is in neither."""
    from zfjl.devices.registry import add_device
    from zfjl.vault.queries.web import RecordingSearch, search_recordings
    from zfjl.vault.query import RecordingFilter, list_recordings

    v = sample_cases_vault
    add_device(v, "DSJ02", model=None, serial=None, unit=UNIT, assigned_to="10002",
               since="2024-01-01")  # fmt: skip
    gone = list_recordings(v, RecordingFilter(device="DSJ02"))[0]["id"]
    with v.writing():  # the catalog's row of a swept recording (the sweep itself: test_retention)
        v.conn.execute("INSERT INTO tombstones VALUES (?, '2024-09-01', 'root', 'S-1', 'patrol',"
                       " '局批', 1, 1)", (gone,))  # fmt: skip
    pairs = [(RecordingSearch(), RecordingFilter()),
             (RecordingSearch(device="DSJ02"), RecordingFilter(device="DSJ02")),
             (RecordingSearch(officer="10002"), RecordingFilter(officer="10002")),
             (RecordingSearch(kind="video", since="2024-06-01", until="2024-06-30"),
              RecordingFilter(kind="video", since="2024-06-01", until="2024-06-30"))]  # fmt: skip
    for search, listing in pairs:
        found = search_recordings(v, search)
        expected = list_recordings(v, listing)
        assert found.total == len(expected) > 0, search
        assert [r["id"] for r in found.rows] == [r["id"] for r in sorted(
            expected, key=lambda r: (r["recorded_at"], r["id"]), reverse=True)]  # fmt: skip
        assert {r["officer"] for r in found.rows} == {r["officer"] for r in expected}
        assert gone not in {r["id"] for r in found.rows}


def test_a_client_trickling_its_request_is_cut_off(site: Site) -> None:
    """A byte now and then does not hold a child: the request line and headers must arrive
    whole within REQUEST_SECONDS (slowloris; this module's server runs with 3 s, not 5)."""
    import socket as sockets

    parts = urlsplit(site.base)
    conn = sockets.create_connection((parts.hostname or "", parts.port or 0), timeout=30)
    started = time.monotonic()
    try:
        conn.sendall(b"GET /recordings HTTP/1.1\r\n")
        with contextlib.suppress(OSError):
            while time.monotonic() - started < REQUEST_SECONDS + 5:
                conn.sendall(b"X")  # a byte every 0.5 s: never idle for IDLE_SECONDS
                time.sleep(0.5)
        assert conn.recv(100) == b""  # closed without an answer
    finally:
        conn.close()
    assert time.monotonic() - started < REQUEST_SECONDS + 5
