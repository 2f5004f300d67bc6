"""Open a login link in the user's browser without putting its secret on a command line
(issue 26 item 2): `webbrowser.open(url)` runs xdg-open/chromium with the URL as an argument,
which every local user reads in /proc/PID/cmdline. Instead the link goes into a 0600 HTML file
in a private folder of the user's (under $XDG_RUNTIME_DIR when there is one), and the browser
is given that file's name, which holds no secret."""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path


def write_link_page(url: str) -> Path:
    """A page of the user's own that sends the browser on to `url`: in a fresh 0700 folder,
    the file created 0600 (O_EXCL, O_NOFOLLOW) before the link is written into it."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and _private_dir(Path(runtime)) else None
    folder = Path(tempfile.mkdtemp(prefix="zfjl-web-", dir=base))  # 0700, ours
    path = folder / "login.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    quoted = html.escape(url, quote=True)
    with os.fdopen(fd, "w", encoding="utf-8") as page:
        page.write(f'<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
                   f'<meta http-equiv="refresh" content="0;url={quoted}"><title>zfjl</title>'
                   f'<a href="{quoted}">登录</a>\n')  # fmt: skip
    return path


def open_link(url: str) -> Path:
    """Open `url` in the user's browser through a link page (`write_link_page`); its name."""
    import webbrowser

    path = write_link_page(url)
    webbrowser.open(path.as_uri())
    return path


def _private_dir(folder: Path) -> bool:
    """$XDG_RUNTIME_DIR is used only when it is a folder of this user's that no one else may
    enter (a stale or foreign value falls back to the system's temporary folder)."""
    try:
        st = folder.lstat()
    except OSError:
        return False
    return folder.is_dir() and not folder.is_symlink() and st.st_uid == os.getuid() \
        and st.st_mode & 0o077 == 0
