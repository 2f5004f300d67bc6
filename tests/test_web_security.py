"""The security review of the review pages (issue 26, docs/security.md): a session and a login
link act only for the OS user owning the browser's TCP connection (the kernel's answer from
/proc/net/tcp), the reverse proxy is the one exception and only over HTTPS, ingested files that
are not media are downloads that never run in the pages' origin, and a login link never
reaches a command line.

No browser here: `zfjl web` (direct mode, as root) in a child process, asked with http.client
from this process (root) and from a forked process running as a real OS user of this file's."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from zfjl.vault.web_sessions import SessionStore

from .conftest import INGEST_CLOCK, fixed_clock
from .test_service import _ensure_user, as_user
from .web_fixtures import start_web, stop_web

OTHER = "zfjlwebsec"  # a local user of this file's own, made by the test


def _other_user() -> pwd.struct_passwd:
    """OTHER, made when missing: only root makes users and becomes them (else the test is
    skipped — a forked "other user" that cannot setuid would leave its test waiting)."""
    if os.geteuid() != 0:
        pytest.skip("需要 root：测试要建立并切换到另一个本地用户")
    return _ensure_user(OTHER)
FAR = "2099-12-31"


@dataclass
class Served:
    root: Path
    host: str
    port: int
    video: str
    note: str  # NOTE.html, kind `other`
    script: str  # x.js, kind `other`

    def link(self, uid: int) -> str:
        return f"/login?t={SessionStore(self.root).new_link(uid)}"


def _card(folder: Path) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(folder / "DSJ01_20240503_100000_0001.MP4")], check=True)  # fmt: skip
    (folder / "NOTE.html").write_text("<script>fetch('/grants')</script>", encoding="utf-8")
    (folder / "x.js").write_text("fetch('/grants').then(r => r.text())", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from zfjl.access import add_grant
    from zfjl.ingest import IngestOptions, ingest
    from zfjl.vault.setup import init_vault

    base = tmp_path_factory.mktemp("web-sec")
    os.chmod(base, 0o755)
    with init_vault(base / "vault", bureau="株洲市城市管理和综合执法局",
                    clock=fixed_clock(INGEST_CLOCK)) as v:  # fmt: skip
        files = {Path(f.path).name: f.id for f in ingest(v, _card(base / "card"), IngestOptions()).files}
        for oid in files.values():
            add_grant(v, v.actor, str(oid), scope="view", approved_by="王局长",
                      approval_no="局批〔2024〕9号", until=FAR, purpose="核查")  # fmt: skip
    proc, first = start_web(base / "vault")
    parts = urlsplit(first["url"])
    try:
        yield Served(base / "vault", parts.hostname or "", parts.port or 0,
                     str(files["DSJ01_20240503_100000_0001.MP4"]), str(files["NOTE.html"]),
                     str(files["x.js"]))  # fmt: skip
    finally:
        stop_web(proc)


def _get(s: Served, path: str, cookie: str = "") -> dict[str, Any]:
    conn = http.client.HTTPConnection(s.host, s.port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return {"status": resp.status, "headers": {k.lower(): v for k, v in resp.getheaders()},
            "body": body.decode("utf-8", "replace")}  # fmt: skip


def _as_other(s: Served, path: str, cookie: str = "") -> dict[str, Any]:
    """The same request from a process of another local user (its own TCP connection)."""
    _other_user()
    home = Path(tempfile.mkdtemp(prefix="zfjl-websec-"))
    os.chmod(home, 0o755)
    try:
        done = as_user(OTHER, lambda: print(json.dumps(_get(s, path, cookie))) or 0, cwd=home,
                       env={})  # fmt: skip
    finally:
        os.rmdir(home)
    assert done.code == 0, done.err
    return dict(json.loads(done.out))


def _login(s: Served) -> str:
    got = _get(s, s.link(os.getuid()))
    assert got["status"] == 200, got["body"]
    return str(got["headers"]["set-cookie"].split(";")[0])


# -- 1. a session is the browser's user's only ---------------------------------------------------
def test_a_session_cookie_replayed_by_another_local_user_is_refused(served: Served) -> None:
    """The port-agnostic cookie reaches another user's server on 127.0.0.1:9999: replayed from
    that user's process it is refused, while the same cookie from its owner's works."""
    cookie = _login(served)
    assert _get(served, "/recordings", cookie)["status"] == 200
    stolen = _as_other(served, "/recordings", cookie)
    assert stolen["status"] == 401 and "音像记录" not in stolen["body"]
    assert _get(served, "/recordings", cookie)["status"] == 200  # the owner's session lives on


# -- 2 and 4. a link is its user's only ----------------------------------------------------------
def test_a_login_link_redeemed_by_another_uid_is_refused_and_not_burned(served: Served) -> None:
    link = served.link(os.getuid())
    stolen = _as_other(served, link)
    assert stolen["status"] == 403 and "set-cookie" not in stolen["headers"]
    assert _get(served, link)["status"] == 200  # still good for its own user, once


def test_another_users_link_does_not_log_a_victim_in(served: Served) -> None:
    """Login CSRF/fixation: the attacker makes the victim's browser open the attacker's link;
    the victim's connection is not the attacker's UID, so no session comes of it."""
    attacker = _other_user().pw_uid
    forced = _get(served, served.link(attacker))
    assert forced["status"] == 403 and "set-cookie" not in forced["headers"]


def test_the_link_is_opened_through_a_private_file_not_a_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    from zfjl.web.linkfile import open_link

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    url = "http://127.0.0.1:8470/login?t=SECRETsecretSECRET"
    page = open_link(url)
    assert opened == [page.as_uri()] and "SECRET" not in opened[0]  # what a command line shows
    assert page.parent.parent == runtime
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and stat.S_IMODE(page.parent.stat().st_mode) == 0o700
    assert f'url={url}"' in page.read_text(encoding="utf-8")


# -- 3. what is not media never runs in the pages' origin ---------------------------------------
def test_an_ingested_html_or_script_is_a_sandboxed_download(served: Served) -> None:
    cookie = _login(served)
    for oid in (served.note, served.script):
        got = _get(served, f"/recordings/{oid}/media", cookie)
        h = got["headers"]
        assert got["status"] == 200 and "fetch('/grants')" in got["body"]
        assert h["content-type"] == "application/octet-stream"
        assert h["content-disposition"] == "attachment"
        assert h["content-security-policy"] == "sandbox; default-src 'none'"
        assert h["x-content-type-options"] == "nosniff"
    video = _get(served, f"/recordings/{served.video}/media", cookie)["headers"]
    assert video["content-type"] == "video/mp4" and video["content-disposition"] == "inline"
    assert video["content-security-policy"] == "sandbox; default-src 'none'"


# -- 1 and 7. the reverse proxy ----------------------------------------------------------------
def test_the_proxy_is_answered_only_over_https_with_a_host_cookie_and_hsts(served: Served) -> None:
    """Connections of the proxy's account (web.proxy_user) are not bound to the session's UID,
    so they must be HTTPS (X-Forwarded-Proto) to a web.hosts name, with a Secure __Host-
    cookie and HSTS; the plain cookie means nothing there."""
    from zfjl.vault.actor import _SERVED_UID
    from zfjl.web.app import make_app
    from zfjl.web.http import PEER_UID

    proxy = _other_user().pw_uid
    app = make_app(served.root, hosts={"127.0.0.1:8470", "zfjl.example"}, proxy_uid=proxy,
                   proxy_hosts={"zfjl.example"})  # fmt: skip
    via_proxy = {PEER_UID: proxy}
    https = {"X-Forwarded-Proto": "https"}
    client = app.test_client()
    try:
        plain = client.get(served.link(os.getuid()), base_url="http://zfjl.example",
                           environ_base=via_proxy)  # fmt: skip
        assert plain.status_code == 403  # not HTTPS
        local_name = client.get(served.link(os.getuid()), base_url="http://127.0.0.1:8470",
                                environ_base=via_proxy, headers=https)  # fmt: skip
        assert local_name.status_code == 403  # not a name the proxy forwards
        login = client.get(served.link(os.getuid()), base_url="http://zfjl.example",
                           environ_base=via_proxy, headers=https)  # fmt: skip
        cookie = login.headers["Set-Cookie"]
        assert login.status_code == 200 and cookie.startswith("__Host-zfjl_session=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert login.headers["Strict-Transport-Security"].startswith("max-age=")
        page = client.get("/recordings", base_url="http://zfjl.example", environ_base=via_proxy,
                          headers=https)  # fmt: skip
        assert page.status_code == 200 and "Strict-Transport-Security" in page.headers
        value = cookie.split(";")[0].split("=", 1)[1]
        local = app.test_client()  # the same value under the plain name, from a local user
        local.set_cookie("zfjl_session", value, domain="127.0.0.1")
        refused = local.get("/recordings", base_url="http://127.0.0.1:8470",
                            environ_base={PEER_UID: proxy + 1})  # fmt: skip
        assert refused.status_code == 401
    finally:
        _SERVED_UID.clear()


# -- 5 and 11. ffmpeg under an HTTP child -------------------------------------------------------
def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _execed(pids: list[int], program: str) -> list[int]:
    """The children that run `program` already: one caught between fork and exec is still
    Popen's half of the HTTP child, and a signal to the parent then tests nothing."""
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == program:
                out.append(pid)
    return out


def _reaped(pid: int, within: float) -> bool:
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_ffmpeg_does_not_outlive_its_http_child(how: str) -> None:
    """An HTTP child stopped (SIGTERM, its deadline's SIGALRM alike) unwinds and kills its
    ffmpeg; one killed outright takes ffmpeg with it (PR_SET_PDEATHSIG)."""
    import signal
    import socket
    import time

    from zfjl.redact import media
    from zfjl.web.http import Listen, fork_http

    def app(environ: Any, start_response: Any) -> list[bytes]:
        media.run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=600",
                          "-f", "null", "-"], "测试")  # fmt: skip
        return []

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    client = socket.create_connection(listening.getsockname())
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    child = fork_http(app, listening, Listen("127.0.0.1", listening.getsockname()[1]), [])
    assert child
    try:
        deadline = time.monotonic() + 10
        while not (ffmpeg := _execed(_children(child), "ffmpeg")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ffmpeg, "ffmpeg did not start"
        os.kill(child, getattr(signal, how))
        assert _reaped(child, within=10), f"the HTTP child outlived {how}"
        deadline = time.monotonic() + 5
        while _alive(ffmpeg[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(ffmpeg[0])
    finally:
        client.close()
        listening.close()
        for pid in _children(child):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(child, signal.SIGKILL)  # the assertion failed: never leave it behind
            os.waitpid(child, 0)


def test_a_file_of_kind_other_is_never_given_to_ffmpeg(served: Served) -> None:
    from zfjl.errors import UsageError
    from zfjl.redact import media
    from zfjl.redact.derivatives import playable_proxy
    from zfjl.vault import Vault

    with Vault.open(served.root) as v, pytest.raises(UsageError, match="不是音视频"):
        playable_proxy(v, served.note, purpose="测试")
    assert media.files_only(["-i", "file:a", "-map", "0", "-i", "file:b"]) == [
        "-protocol_whitelist", "file", "-i", "file:a", "-map", "0",
        "-protocol_whitelist", "file", "-i", "file:b"]  # fmt: skip


def test_a_user_with_every_ffmpeg_slot_taken_gets_503(served: Served) -> None:
    """Derivative jobs are capped per UID (flock slots): with both of root's slots held by
    jobs under way, a third proxy request is 503 and runs no ffmpeg."""
    import fcntl

    from zfjl.vault.actor import _SERVED_UID
    from zfjl.web.app import JOBS_PER_UID, make_app
    from zfjl.web.http import PEER_UID

    app = make_app(served.root, hosts={"127.0.0.1:8470"})
    mine = {PEER_UID: os.getuid()}
    client = app.test_client()
    base = "http://127.0.0.1:8470"
    try:
        login = client.get(served.link(os.getuid()), base_url=base, environ_base=mine)
        assert login.status_code == 200
        cookie = login.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        session = SessionStore(served.root).session(cookie)
        assert session is not None
        folder = served.root / "web" / "jobs"
        folder.mkdir(mode=0o700, exist_ok=True)
        held = [os.open(folder / f"{os.getuid()}.{n}", os.O_RDWR | os.O_CREAT, 0o600)
                for n in range(JOBS_PER_UID)]  # fmt: skip
        for fd in held:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            busy = client.post(f"/recordings/{served.video}/proxy", base_url=base,
                               environ_base=mine, headers={"Origin": base},
                               data={"csrf": session.csrf})  # fmt: skip
            assert busy.status_code == 503 and "任务在进行" in busy.get_data(as_text=True)
        finally:
            for fd in held:
                os.close(fd)
        freed = client.post(f"/recordings/{served.video}/proxy", base_url=base,
                            environ_base=mine, headers={"Origin": base},
                            data={"csrf": session.csrf})  # fmt: skip
        assert freed.status_code == 303  # a slot free: the proxy is made
    finally:
        _SERVED_UID.clear()


# -- 6. one user cannot take every HTTP child ----------------------------------------------------
def test_one_user_holding_connections_does_not_lock_the_others_out(served: Served) -> None:
    """Another local user holds MAX_HTTP_PER_UID connections open: their next one is 503 at
    once, while root's own request is still answered."""
    import socket
    import threading

    from zfjl.web.http import MAX_HTTP_PER_UID

    _other_user()
    home = Path(tempfile.mkdtemp(prefix="zfjl-websec-"))
    os.chmod(home, 0o755)
    held_r, held_w = os.pipe()  # the hog says when it holds its connections,
    done_r, done_w = os.pipe()  # then waits until root has asked too

    def hold_then_ask() -> int:
        held = [socket.create_connection((served.host, served.port)) for _ in range(MAX_HTTP_PER_UID)]
        try:
            extra = socket.create_connection((served.host, served.port), timeout=10)
            extra.sendall(f"GET /recordings HTTP/1.1\r\nHost: {served.host}:{served.port}\r\n\r\n".encode())
            print(extra.recv(200).decode("ascii", "replace").split("\r\n", 1)[0], flush=True)
            os.write(held_w, b"x")
            os.read(done_r, 1)
        finally:
            for conn in held:
                conn.close()
        return 0

    results: dict[str, Any] = {}

    def run_hog() -> None:
        results["hog"] = as_user(OTHER, hold_then_ask, cwd=home, env={})

    thread = threading.Thread(target=run_hog)
    thread.start()
    try:
        assert os.read(held_r, 1) == b"x"
        results["root"] = _get(served, "/recordings")["status"]
    finally:
        os.write(done_w, b"y")
        thread.join(30)
        for fd in (held_r, held_w, done_r, done_w):
            os.close(fd)
        os.rmdir(home)
    assert results["hog"].code == 0, results["hog"].err
    assert results["hog"].out.strip() == "HTTP/1.1 503 Service Unavailable"
    assert results["root"] == 401  # answered (no session), not refused as busy
