"""The review pages (docs/web.md): a small Flask (WSGI) app that a forked child of `zfjl serve`
(or of `zfjl web` in direct mode) runs for one HTTP connection.

Who acts is the session's UID, which a one-time login link bound to the UID the kernel named
for whoever asked for it (zfjl.vault.web_sessions); every request opens the vault as that
user (`act_for`), and every page calls the same library functions the command line does — the
authority check (zfjl.access.authority), the journal, spot checks, grants. Pages never run SQL
of their own: the search is zfjl.vault.queries.web.

Hostile by default: the Host header must name this listener (DNS rebinding), every POST must
come from this origin and carry the session's CSRF token, the cookie is HttpOnly and
SameSite=Strict, responses forbid framing and scripts from elsewhere.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, abort, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from zfjl.errors import (
    AccessDenied,
    AmbiguousIdError,
    NotFoundError,
    NotPermitted,
    UsageError,
    ZfjlError,  # fmt: skip
)
from zfjl.vault.web_sessions import SESSION_SECONDS, Session, SessionStore
from zfjl.web.http import PEER_UID

if TYPE_CHECKING:
    from zfjl.redact import RedactionSpec
    from zfjl.redact.spec import Method

COOKIE = "zfjl_session"
PROXY_COOKIE = "__Host-zfjl_session"  # behind the reverse proxy: Secure, host-only, path /
MAX_FORM_BYTES = 64 * 1024  # every form of these pages is far smaller
JUDGING_ROLES = frozenset({"legal", "director"})  # who enters approvals on /grants (art. 47)
# What /media serves inline, by catalogued kind and name: anything else (a NOTE.html, an x.js
# of kind `other`) is a download that never runs in this origin (issue 26 item 3).
INLINE_TYPES = {
    "video": {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"},
    "audio": {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".wav": "audio/wav",
              ".ogg": "audio/ogg"},
    "photo": {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"},
}  # fmt: skip
SANDBOXED = "sandbox; default-src 'none'"  # the CSP of every byte handed out (media, handouts)
HSTS = "max-age=31536000"
PLAYABLE = {".mp4", ".m4v", ".webm", ".mp3", ".m4a", ".aac", ".wav", ".ogg", ".jpg", ".jpeg",
            ".png", ".gif", ".webp"}  # fmt: skip
MAX_BOXES = 64  # boxes or muted ranges in one redaction from the page
JOBS_PER_UID = 2  # ffmpeg jobs (proxies, redactions, face proposals) a user runs at once


def template_dir() -> Path:
    from zfjl.render.templates import builtin_template_dirs

    for folder in builtin_template_dirs():
        if (folder / "web").is_dir():
            return folder / "web"
    raise ZfjlError("找不到网页模板（templates/web）：安装不完整")


def derivatives(vault: Any, oid: str) -> list[dict[str, Any]]:
    """The derivatives of a recording (`zfjl redact`: a playable proxy, redacted copies), each
    as `Derivative.as_dict()` (id, kind, kind_text, sha256, params…), oldest first."""
    from zfjl.redact.derivatives import list_derivatives

    return [d.as_dict() for d in list_derivatives(vault, oid)]


def make_app(
    vault_root: Path, *, hosts: set[str], direct_uid: int | None = None,
    clock: Callable[[], Any] | None = None, proxy_uid: int | None = None,
    proxy_hosts: set[str] | None = None,
) -> Flask:  # fmt: skip
    """The app for the vault at `vault_root`. `hosts`: the Host header values it answers
    (127.0.0.1:PORT, localhost:PORT, a reverse proxy's name). `direct_uid`: in direct mode,
    the only UID a session may act as (the process's own). `proxy_uid`: the reverse proxy's
    account (setting `web.proxy_user`), whose connections answer only `proxy_hosts` over
    HTTPS; every other connection acts only for the UID owning its client socket."""
    folder = template_dir()
    app = Flask("zfjl.web", template_folder=str(folder),
                static_folder=str(folder / "static"), static_url_path="/static")  # fmt: skip
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
                      TEMPLATES_AUTO_RELOAD=False, SEND_FILE_MAX_AGE_DEFAULT=0)  # fmt: skip
    app.jinja_env.autoescape = True  # every template, whatever its name
    store = SessionStore(vault_root)
    allowed = {h.lower() for h in hosts}
    proxied_hosts = {h.lower() for h in proxy_hosts or ()}
    app.jinja_env.filters.update(when=_when, duration=_duration, kind=_kind, clock=_clock,
                                 source=lambda v: TIME_SOURCE_TEXT.get(v, v or "—"))  # fmt: skip
    _preload(app)

    @app.before_request
    def guard() -> Response | None:
        if request.host.lower() not in allowed:  # DNS rebinding: a foreign name for our port
            return _plain(400, "主机名不符：请用 zfjl web 给出的地址访问")
        if request.method not in ("GET", "HEAD", "POST"):
            return _plain(405, "不支持的请求方法")
        if request.method == "POST" and not _same_origin(allowed):
            return _plain(403, "拒绝：请求不是来自本站页面（Origin 不符）")
        peer = request.environ.get(PEER_UID)
        g.proxied = proxy_uid is not None and peer == proxy_uid
        if g.proxied and not _proxied_ok(proxied_hosts):
            return _plain(403, "拒绝：经反向代理访问须用 HTTPS 及 web.hosts 中的主机名")
        if request.endpoint in ("login", "static"):
            return None
        session = store.session(request.cookies.get(PROXY_COOKIE if g.proxied else COOKIE))
        if session is None or (direct_uid is not None and session.uid != direct_uid):
            return _page(401, "login_needed.html")
        if not g.proxied and session.uid != peer:  # a cookie replayed by another local user
            return _page(401, "login_needed.html")
        g.session = session
        if request.method == "POST" and not session.csrf_ok(request.form.get("csrf")):
            return _plain(403, "拒绝：表单已失效（缺少或不符的 CSRF 令牌），请刷新页面后重试")
        _open_vault_as(session.uid)
        return None

    def _open_vault_as(uid: int) -> None:
        from zfjl.vault import Vault
        from zfjl.vault.actor import act_for

        act_for(uid)
        g.vault = Vault.open(vault_root, clock=clock)

    @app.teardown_request
    def close_vault(exc: BaseException | None) -> None:
        vault = g.pop("vault", None)
        if vault is not None:
            vault.close()

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Content-Security-Policy"] = SANDBOXED if request.endpoint in (
            "media", "handout") else (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self';"
            " media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")  # fmt: skip
        if g.get("proxied"):
            resp.headers["Strict-Transport-Security"] = HSTS
        return resp

    @app.errorhandler(ZfjlError)
    def library_error(exc: ZfjlError) -> Response:
        status = (403 if isinstance(exc, (AccessDenied, NotPermitted)) else 404 if isinstance(exc, NotFoundError)
                  else 400 if isinstance(exc, (UsageError, AmbiguousIdError)) else 500)  # fmt: skip
        return _page(status, "error.html", message=exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return _page(exc.code or 500, "error.html", message=exc.description or exc.name)

    @app.context_processor
    def common() -> dict[str, Any]:
        session: Session | None = g.get("session")
        vault = g.get("vault")
        roles = sorted(vault.roles_of(vault.actor)) if vault is not None else []
        return {"csrf": session.csrf if session else "", "user": vault.actor if vault else "",
                "roles": roles, "judging": bool(set(roles) & JUDGING_ROLES)}  # fmt: skip

    # -- login ------------------------------------------------------------------------------
    @app.get("/login")
    def login() -> Response:
        # A link works only from a browser of the user it was made for (the kernel's owner of
        # the connection): another user's redirect cannot log a victim in as someone else
        # (login CSRF), nor can a stolen link be used by another local user. Through the proxy
        # the connection's owner is the proxy: the link alone counts there.
        owner = request.environ.get(PEER_UID)
        peer = None if g.proxied else (-1 if owner is None else owner)  # unknown: matches none
        got = store.redeem(request.args.get("t", "")[:200], uid=peer)
        if got is None:
            return _page(403, "error.html", message="登录链接无效、已用过、已过期或不是给本用户的"
                         "（链接 60 秒内有效，只能由申请它的用户使用一次）：请重新运行 zfjl web")  # fmt: skip
        cookie, _ = got
        # A page of our own, not a redirect: a SameSite=Strict cookie set while following a
        # link from elsewhere is sent from the next same-site navigation on.
        resp = _page(200, "logged_in.html")
        resp.set_cookie(PROXY_COOKIE if g.proxied else COOKIE, cookie, max_age=SESSION_SECONDS,
                        httponly=True, samesite="Strict", secure=bool(g.proxied), path="/")  # fmt: skip
        return resp

    @app.post("/logout")
    def logout() -> Response:
        store.end(g.session)
        shutil.rmtree(vault_root / "web" / "handouts" / g.session.key[:32], ignore_errors=True)
        resp = _page(200, "error.html", message="已退出。再次使用请运行 zfjl web 获取新的登录链接。",
                     title="已退出")  # fmt: skip
        resp.delete_cookie(PROXY_COOKIE if g.proxied else COOKIE, path="/", httponly=True,
                           samesite="Strict", secure=bool(g.proxied))  # fmt: skip
        return resp

    @app.get("/")
    def home() -> Response:
        return redirect("/recordings", 303)

    # -- recordings -------------------------------------------------------------------------
    @app.get("/recordings")
    def recordings() -> Response:
        from zfjl.vault.queries.web import RecordingSearch, devices_and_officers, search_recordings
        from zfjl.vault.query import unique_prefixes

        a = request.args
        search = RecordingSearch(
            since=a.get("from") or None, until=a.get("to") or None,
            officer=a.get("officer") or None, device=a.get("device") or None,
            kind=a.get("kind") or None, late=_tristate(a.get("late")),
            clock_skew=_tristate(a.get("skew")), case=(a.get("case") or "").strip() or None,
        )  # fmt: skip
        found = search_recordings(g.vault, search, _int(a.get("page"), 1))
        devices, officers = devices_and_officers(g.vault)
        return _page(200, "recordings.html", found=found, form=a, devices=devices,
                     officers=officers, ids=unique_prefixes(g.vault, [r["id"] for r in found.rows]),
                     query=_query_without_page(a))  # fmt: skip

    @app.get("/recordings/<ident>")
    def recording(ident: str) -> Response:
        return recording_page(ident)

    def recording_page(ident: str, **extra: Any) -> Response:
        """The recording's page; `extra`: what a POST adds to it (face proposals)."""
        from zfjl.access import custody_log
        from zfjl.access.authority import Item, authorize, authorize_drawn
        from zfjl.vault.query import show_recording

        vault = g.vault
        rec = show_recording(vault, _hex(ident))
        draw = _draw(request.args.get("draw"))
        refusal, via, status = None, None, 200
        if rec["destroyed"]:
            refusal, status = f"该记录已于 {rec['destroyed']['at'][:10]} 按保存期限销毁", 410
        else:
            try:  # opening the page is asking to view it: a refusal is journaled here
                if draw:
                    via = authorize_drawn(vault, rec["id"], draw, purpose=f"抽查 {draw}").grants[rec["id"]]
                else:
                    release = authorize(vault, [Item(rec["id"], "音像记录")], "view", purpose="网页查阅")
                    via = release.grants[rec["id"]]
            except AccessDenied as exc:
                refusal, status = exc.message, 403
        made = derivatives(vault, rec["id"]) if not rec["destroyed"] else []
        playable = store.playable(rec["id"])
        if playable is None:  # ffprobe once per object: its bytes never change
            playable = _playable(vault, rec)
            store.note_playable(rec["id"], playable)
        asked = request.args.get("derivative") or ""
        chosen = next((d["id"] for d in made if asked and d["id"].startswith(asked.lower())), None)
        if chosen is None and not playable:  # play the proxy when the original cannot be
            chosen = next((d["id"] for d in made if d["kind"] == "proxy"), None)
        return _page(status, "recording.html", rec=rec, refusal=refusal, via=via, draw=draw,
                     playable=playable, derivatives=made, chosen=chosen,
                     custody=custody_log(vault, rec["id"]).entries, **extra)  # fmt: skip

    @app.post("/recordings/<ident>/proxy")
    def make_proxy(ident: str) -> Response:
        """A playable H.264/AAC proxy, made once under the user's view grant (docs/redact.md);
        ffmpeg runs while the browser waits (a few seconds a minute of 1080p)."""
        from zfjl.redact.derivatives import playable_proxy
        from zfjl.vault.query import resolve_id

        oid = resolve_id(g.vault, _hex(ident))
        if not job_slot():
            return _busy()
        made = playable_proxy(g.vault, oid, purpose="网页播放")
        return redirect(f"/recordings/{oid}?derivative={made.id}", 303)

    # -- redaction and disclosure (docs/redact.md; art. 44) ----------------------------------
    @app.post("/recordings/<ident>/faces")
    def faces(ident: str) -> Response:
        """Face proposals shown on the page, each unticked: nothing is applied unseen."""
        from zfjl.redact.faces import propose_faces
        from zfjl.vault.query import resolve_id

        oid = resolve_id(g.vault, _hex(ident))
        if not job_slot():
            return _busy()
        report = propose_faces(g.vault, oid, purpose=_purpose("人脸建议"))
        return recording_page(oid, proposals=[p.as_dict() for p in report.proposals],
                              faces_done=True)  # fmt: skip

    @app.post("/recordings/<ident>/redact")
    def redact_recording(ident: str) -> Response:
        """The boxes ticked or typed and the muted ranges, through `zfjl redact`'s function."""
        from zfjl.redact import redact
        from zfjl.vault.query import resolve_id

        oid = resolve_id(g.vault, _hex(ident))
        if not job_slot():
            return _busy()
        try:
            spec = redaction_spec(request.form)
            made = redact(g.vault, oid, spec, purpose=_purpose("网页删减"))
        except UsageError as exc:  # the CLI's words for the CLI's options, the page's here
            raise UsageError(exc.message.replace("--box ", "遮挡框 ").replace("--mute ", "静音时段 ")
                             + "。请返回上一页修改。") from exc  # fmt: skip
        return redirect(f"/recordings/{oid}?derivative={made.id}#derivatives", 303)

    @app.post("/recordings/<ident>/disclose")
    def disclose_copy(ident: str) -> Response:
        """A redacted copy for a party under a copy grant (`zfjl disclose`'s function): the copy
        and its receipt are written into a folder of this session's, then downloaded."""
        from zfjl.redact.disclose import disclose
        from zfjl.vault.query import resolve_id

        session: Session = g.session
        oid = resolve_id(g.vault, _hex(ident))
        f = request.form
        token = secrets.token_hex(16)
        done = disclose(g.vault, oid, _hex(f.get("derivative", "")), party=f.get("party", ""),
                        approval_no=f.get("approval_no", ""), dest=handout_dir(session, token),
                        purpose=_purpose("网页提供"))  # fmt: skip
        return _page(200, "disclosed.html", done=done.as_dict(), token=token, oid=oid,
                     copy_name=done.copy.name, receipt_name=done.receipt.name)  # fmt: skip

    @app.get("/handouts/<token>/<which>")
    def handout(token: str, which: str) -> Response:
        """A disclosed copy or its receipt, to the session that made the disclosure only (the
        disclosure was journaled before the copy was written)."""
        from flask import send_file

        if not re.fullmatch(r"[0-9a-f]{32}", token) or which not in ("copy", "receipt"):
            abort(404)
        folder = handout_dir(g.session, token)
        wanted = "_删减副本_" if which == "copy" else "_提供回执_"
        found = [p for p in (folder.iterdir() if folder.is_dir() else ()) if wanted in p.name
                 and not p.is_symlink()]  # fmt: skip
        if len(found) != 1:
            abort(404)
        resp = send_file(found[0], as_attachment=True, download_name=found[0].name,
                         conditional=True, max_age=0)  # fmt: skip
        resp.headers["Cache-Control"] = "private, no-store"
        return resp

    def job_slot() -> bool:
        """One of the session user's JOBS_PER_UID ffmpeg slots (a flock held until this child
        ends), or False when all are taken: a user cannot fill the machine with encoders."""
        import fcntl

        folder = vault_root / "web" / "jobs"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for n in range(JOBS_PER_UID):
            fd = os.open(folder / f"{g.session.uid}.{n}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)  # fmt: skip
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            g.job_slot = fd  # released when the child exits
            return True
        return False

    def handout_dir(session: Session, token: str) -> Path:
        """web/handouts/<session>/<token>: the session's own folder; older ones are removed."""
        base = vault_root / "web" / "handouts"
        _sweep_handouts(base)
        own = base / session.key[:32]
        own.mkdir(mode=0o700, parents=True, exist_ok=True)  # the service account's, private
        return own / token

    @app.get("/recordings/<ident>/media")
    def media(ident: str) -> Response:
        from zfjl.access.reads import play

        session: Session = g.session
        derived = request.args.get("derivative")
        pb = play(g.vault, _hex(ident), draw=_draw(request.args.get("draw")),
                  where=f"网页播放（会话 {session.key[:8]}）",
                  derived=_hex(derived) if derived else None,
                  journaled=lambda oid, via: store.viewed(session, oid, via))  # fmt: skip
        store.note_view(session, pb.object, pb.via, pb.seq)
        mimetype = _inline_type(g.vault, pb)
        stream = os.fdopen(pb.fd, "rb")
        size = os.fstat(stream.fileno()).st_size  # the descriptor's, as the store holds it
        resp = Response(wrap_file(request.environ, stream), mimetype=mimetype or DOWNLOAD,
                        direct_passthrough=True)  # fmt: skip
        resp.content_length = size
        resp.set_etag(pb.id)  # content-addressed: the id is the content's digest
        resp.headers["Content-Disposition"] = "inline" if mimetype else "attachment"
        resp.headers["Cache-Control"] = "private, no-store"
        try:  # 206 for a range, 416 for one past the end (werkzeug; one range at a time)
            return resp.make_conditional(request.environ, accept_ranges=True, complete_length=size)
        except RequestedRangeNotSatisfiable:
            stream.close()
            raise

    # -- cases ------------------------------------------------------------------------------
    @app.get("/cases/go")
    def case_go() -> Response:
        from urllib.parse import quote

        return redirect(f"/cases/{quote((request.args.get('case') or '').strip()[:64], safe='')}", 303)

    @app.get("/cases/<case_id>")
    def case(case_id: str) -> Response:
        from zfjl.cases.store import get_case
        from zfjl.checklists.run import check
        from zfjl.web.timeline import case_timeline

        vault = g.vault
        found = get_case(vault, case_id, withdrawn_ok=True)
        report = check(vault, found["case"])
        return _page(200, "case.html", case=found, report=report, stages=report.by_stage(),
                     timeline=case_timeline(found), tz=vault.config.tz)  # fmt: skip

    # -- spot checks ------------------------------------------------------------------------
    @app.get("/spotchecks")
    def spotchecks() -> Response:
        from zfjl.spotcheck import RESULTS, get_draw
        from zfjl.vault.queries.web import recent_draws

        draws = recent_draws(g.vault)
        chosen = _draw(request.args.get("draw")) or (draws[0] if draws else None)
        batch = get_draw(g.vault, chosen) if chosen else None
        return _page(200, "spotchecks.html", draws=draws, batch=batch, results=RESULTS,
                     saved=(request.args.get("saved") or "")[:64])  # fmt: skip

    @app.post("/spotchecks/<draw_id>/record")
    def spotcheck_record(draw_id: str) -> Response:
        from zfjl import spotcheck

        form = request.form
        failed = [k for k in form.getlist("failed") if k]
        spotcheck.record(g.vault, form.get("item", ""), form.get("result", ""),
                         draw_id=_draw(draw_id), failed=failed or None,
                         note=(form.get("note") or "").strip() or None)  # fmt: skip
        return redirect(f"/spotchecks?draw={_draw(draw_id)}&saved={form.get('item', '')[:64]}", 303)

    # -- grants -----------------------------------------------------------------------------
    @app.route("/grants", methods=["GET", "POST"])
    def grants() -> Response:
        from zfjl.access import add_grant, list_grants

        vault = g.vault
        if not vault.roles_of(vault.actor) & JUDGING_ROLES:
            return _page(403, "error.html", message="查阅、复制批准只有法规科、局长可以登记和查看")
        added = None
        if request.method == "POST":
            f = request.form
            added = add_grant(vault, f.get("user", "").strip(), f.get("target", "").strip(),
                              scope=f.get("scope", ""), approved_by=f.get("approved_by", ""),
                              approval_no=f.get("approval_no", ""), until=f.get("until", ""),
                              purpose=(f.get("purpose") or "").strip() or None)  # fmt: skip
        return _page(200, "grants.html", grants=list_grants(vault, include_inactive=True),
                     added=added, today=vault.now().date().isoformat())  # fmt: skip

    @app.post("/grants/<grant_id>/revoke")
    def revoke(grant_id: str) -> Response:
        from zfjl.access import revoke_grant

        vault = g.vault
        if not vault.roles_of(vault.actor) & JUDGING_ROLES:
            return _page(403, "error.html", message="查阅、复制批准只有法规科、局长可以撤销")
        revoke_grant(vault, grant_id, (request.form.get("reason") or "").strip() or None,
                     approval_no=request.form.get("approval_no"))  # fmt: skip
        return redirect("/grants", 303)

    return app


# -- helpers ----------------------------------------------------------------------------------
TEMPLATES = ("base.html", "error.html", "login_needed.html", "logged_in.html", "recordings.html",
             "recording.html", "case.html", "spotchecks.html", "grants.html", "disclosed.html")  # fmt: skip


def _preload(app: Flask) -> None:
    """Import what the pages use and compile their templates once, in the process that forks
    the children: each connection's child then starts with them (copy-on-write), instead of
    paying ~100 ms of imports and compiling on every page."""
    import zfjl.access.reads
    import zfjl.cases.store
    import zfjl.checklists.run
    import zfjl.redact.derivatives
    import zfjl.spotcheck
    import zfjl.vault.queries.web
    import zfjl.vault.query
    import zfjl.web.timeline  # noqa: F401

    mimetypes.init()  # reads /etc/mime.types: 25 ms

    for name in TEMPLATES:
        app.jinja_env.get_template(name)


def redaction_spec(form: Any) -> RedactionSpec:
    """The page's redaction form as a RedactionSpec: ticked boxes (`box`, the CLI's
    `x,y,w,h@t0-t1`), one typed box (x, y, w, h, t0, t1), muted ranges (`mute`: `t0-t1`, several
    separated by spaces or commas), blur or mosaic. The library checks them against the
    recording (UsageError naming the value)."""
    from zfjl.redact import RedactionSpec, parse_box, parse_span

    texts = [t.strip() for t in form.getlist("box") if t.strip()][:MAX_BOXES]
    typed = [(form.get(k) or "").strip() for k in ("x", "y", "w", "h")]
    if all(typed):
        t0, t1 = ((form.get(k) or "").strip() for k in ("t0", "t1"))
        texts.append(",".join(typed) + (f"@{t0 or '0'}-{t1}" if t0 or t1 else ""))
    mutes = re.split(r"[\s,，;；]+", (form.get("mute") or "").strip())
    method: Method = "mosaic" if form.get("method") == "mosaic" else "blur"
    return RedactionSpec(boxes=tuple(parse_box(t) for t in texts),
                         mutes=tuple(parse_span(m) for m in mutes if m)[:MAX_BOXES], method=method)  # fmt: skip


def _purpose(default: str) -> str:
    text = " ".join((request.form.get("purpose") or "").split())[:200]
    return text or default


def _sweep_handouts(base: Path) -> None:
    """Handed-out copies stay only as long as a session lives: older folders are removed
    (and a session's own at logout)."""
    cutoff = time.time() - SESSION_SECONDS
    for folder in base.glob("*/*") if base.is_dir() else ():
        with contextlib.suppress(OSError):
            if folder.lstat().st_mtime < cutoff:
                shutil.rmtree(folder)


KIND_TEXT = {"video": "视频", "audio": "录音", "photo": "照片", "other": "其他"}
TIME_SOURCE_TEXT = {"name": "文件名", "metadata": "元数据", "mtime": "文件修改时间"}


def _when(value: Any) -> str:
    """ISO 8601 as a person reads it: 2024-05-06 10:10:00 (the catalog's own zone)."""
    if not value:
        return "—"
    text = str(value)
    return text[:19].replace("T", " ")


def _clock(value: Any, tz: Any) -> str:
    return value.astimezone(tz).strftime("%H:%M:%S") if value else ""


def _duration(value: Any) -> str:
    if value is None or value == "":
        return "—"
    seconds = round(float(value))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def _kind(value: Any) -> str:
    return KIND_TEXT.get(str(value), str(value or "—"))


def _page(status: int, template: str, **context: Any) -> Response:
    resp = Response(render_template(template, **context), status=status,
                    content_type="text/html; charset=utf-8")  # fmt: skip
    return resp


def _playable(vault: Any, rec: dict[str, Any]) -> bool:
    """Whether a browser plays the original as it is (ffprobe of its headers: HEVC, AVI,
    AMR… are not); a file ffprobe cannot read is offered as it is."""
    from zfjl.errors import ZfjlError as Failed
    from zfjl.redact.derivatives import needs_proxy

    if rec["destroyed"] or rec.get("kind") not in ("video", "audio"):
        return True
    try:
        return not needs_proxy(vault, rec["id"])
    except Failed:
        return Path(rec.get("original_name") or "").suffix.lower() in PLAYABLE


DOWNLOAD = "application/octet-stream"


def _inline_type(vault: Any, pb: Any) -> str | None:
    """The type /media serves `pb` inline as, from the allow-list by catalogued kind (a
    derivative is an MP4 video); None: a download."""
    from zfjl.vault.queries.derivatives import recording_kind

    kind = "video" if pb.object != pb.id else recording_kind(vault, pb.id)
    return INLINE_TYPES.get(kind or "", {}).get(Path(pb.name or "").suffix.lower())


def _proxied_ok(hosts: set[str]) -> bool:
    """A request the reverse proxy forwards: HTTPS (as the proxy says) to a configured name."""
    return request.host.lower() in hosts and request.headers.get("X-Forwarded-Proto") == "https"


def _busy() -> Response:
    return _page(503, "error.html", message=f"您已有 {JOBS_PER_UID} 个删减或播放副本任务在进行："
                 "请等其结束后再试")  # fmt: skip


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _same_origin(allowed: set[str]) -> bool:
    """A POST's Origin (or, lacking one, its Referer) names this listener."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() in allowed


def _tristate(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 1_000_000))
    except ValueError:
        return default


def _hex(ident: str) -> str:
    if len(ident) > 128:
        abort(404)
    return ident


def _draw(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().upper()
    if not value.startswith("SC-") or not value[3:].isdigit() or len(value) > 20:
        raise UsageError(f"抽查批次编号应形如 SC-12，收到 {value[:20]!r}")
    return value


def _query_without_page(args: Any) -> str:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in args.items(multi=True) if k != "page" and v])
