"""Browser sessions of the review pages (docs/web.md): one-time login links and sessions.

Not evidence and not journaled: a small SQLite file of its own, `web/sessions.db` in the vault
folder (0600, the vault owner's: the service account on a station), so a forked HTTP child and
the service child that made a link see the same rows. Only SHA-256 digests of the random
secrets are stored: whoever reads the file cannot log in with what it holds.

- A login link is bound to a UID (the kernel's answer for whoever asked: SO_PEERCRED through
  the service, the process UID in direct mode), works once, within LINK_SECONDS.
- A session is a random 256-bit cookie value, with its own CSRF token, expiring after
  SESSION_SECONDS (fixed, not sliding) or at logout.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

LINK_SECONDS = 60
SESSION_SECONDS = 8 * 3600  # one working day
VIEW_PRUNE_SECONDS = 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (digest TEXT PRIMARY KEY, uid INTEGER NOT NULL,
    expires REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (digest TEXT PRIMARY KEY, uid INTEGER NOT NULL,
    csrf TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS session_views (session TEXT NOT NULL, object TEXT NOT NULL,
    via TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (session, object, via));
CREATE TABLE IF NOT EXISTS playable (object TEXT PRIMARY KEY, playable INTEGER NOT NULL);
"""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    key: str  # the digest of the cookie value: what the store is keyed by
    uid: int
    csrf: str
    expires: float

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


class SessionStore:
    def __init__(self, vault_root: Path, clock: Callable[[], float] | None = None) -> None:
        self.path = Path(vault_root) / "web" / "sessions.db"
        self._now = clock or time.time

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(mode=0o700, exist_ok=True)
        fresh = not self.path.exists()
        if fresh:  # created 0600 before SQLite writes a byte into it
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            yield conn
        finally:
            conn.close()

    def _time(self) -> float:
        return float(self._now())

    # -- login links ------------------------------------------------------------------------
    def new_link(self, uid: int) -> str:
        """A fresh one-time login secret for `uid` (what goes into the link)."""
        secret = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM links WHERE expires < ?", (self._time() - 3600,))
            db.execute("INSERT INTO links (digest, uid, expires) VALUES (?, ?, ?)",
                       (_digest(secret), uid, self._time() + LINK_SECONDS))  # fmt: skip
        return secret

    def redeem(self, secret: str, uid: int | None = None) -> tuple[str, Session] | None:
        """Use a login link once: a new session (its cookie value and record), or None when
        the link is unknown, used, expired, or (with `uid`: the redeeming connection's owner)
        made for another UID — then it is left unused, for its own user. Marked used in the
        same transaction."""
        now = self._time()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT uid, expires, used FROM links WHERE digest = ?",
                             (_digest(secret),)).fetchone()  # fmt: skip
            if row is None or row[2] or row[1] < now or (uid is not None and int(row[0]) != uid):
                db.execute("COMMIT")
                return None
            db.execute("UPDATE links SET used = 1 WHERE digest = ?", (_digest(secret),))
            cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session = Session(_digest(cookie), int(row[0]), csrf, now + SESSION_SECONDS)
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (session.key, session.uid, csrf, now, session.expires))  # fmt: skip
            db.execute("COMMIT")
        return cookie, session

    # -- sessions ---------------------------------------------------------------------------
    def session(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 200:
            return None
        with self._db() as db:
            row = db.execute("SELECT uid, csrf, expires FROM sessions WHERE digest = ?",
                             (_digest(cookie),)).fetchone()  # fmt: skip
        if row is None or row[2] < self._time():
            return None
        return Session(_digest(cookie), int(row[0]), row[1], float(row[2]))

    def end(self, session: Session) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE digest = ?", (session.key,))
            db.execute("DELETE FROM session_views WHERE session = ?", (session.key,))

    # -- what a session has already had journaled ---------------------------------------------
    def viewed(self, session: Session, oid: str, via: str) -> int | None:
        """The journal seq of this session's view of `oid` under `via` (a grant or a draw),
        if one was journaled: later ranges of the same playback are covered by it."""
        with self._db() as db:
            row = db.execute("SELECT seq FROM session_views WHERE session = ? AND object = ?"
                             " AND via = ?", (session.key, oid, via)).fetchone()  # fmt: skip
        return int(row[0]) if row else None

    def note_view(self, session: Session, oid: str, via: str, seq: int) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO session_views VALUES (?, ?, ?, ?)",
                       (session.key, oid, via, seq))  # fmt: skip


    # -- whether a browser plays an object as it is (objects never change: asked once) --------
    def playable(self, oid: str) -> bool | None:
        with self._db() as db:
            row = db.execute("SELECT playable FROM playable WHERE object = ?", (oid,)).fetchone()
        return None if row is None else bool(row[0])

    def note_playable(self, oid: str, playable: bool) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO playable VALUES (?, ?)", (oid, int(playable)))
