"""What the browser tests share (tests/test_web.py, tests/test_web_redact.py, and the server of
tests/test_web_security.py): one Chromium per test process, and `zfjl web` started in a child
process, optionally with a shorter request deadline for a test that waits for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

_shared: dict[str, Any] = {}


def shared_browser(config: pytest.Config) -> Any:
    """Debian's Chromium through Playwright, launched once per test process (a launch and its
    driver cost a second or more of CPU) and closed when the session ends. Each module opens
    contexts of its own in it: no cookie or page crosses from one module to another."""
    if "browser" not in _shared:
        from playwright.sync_api import sync_playwright

        driver = sync_playwright().start()
        _shared["browser"] = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        config.add_cleanup(_close_browser)
        _shared["driver"] = driver
    return _shared["browser"]


def _close_browser() -> None:
    browser, driver = _shared.pop("browser", None), _shared.pop("driver", None)
    if browser is not None:
        browser.close()
    if driver is not None:
        driver.stop()


# `python -m zfjl ARGS` with zfjl.web.http's request deadline set first: the deadline is a
# module constant read by each HTTP child when it starts, so the child process must set it.
_WITH_DEADLINE = (
    "import runpy, sys; import zfjl.web.http as h; h.REQUEST_SECONDS = int(sys.argv.pop(1)); "
    "sys.argv[0] = 'zfjl'; runpy.run_module('zfjl', run_name='__main__', alter_sys=True)"
)


def start_web(
    root: Path, *, request_seconds: int | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`zfjl web --listen 127.0.0.1:0 --json` on `root` (direct mode) in a child process: the
    process and the first line it printed (the login link)."""
    head = [sys.executable, "-m", "zfjl"] if request_seconds is None else \
        [sys.executable, "-c", _WITH_DEADLINE, str(request_seconds)]  # fmt: skip
    proc = subprocess.Popen(
        [*head, "--vault", str(root), "web", "--listen", "127.0.0.1:0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline() or "{}")
    if "url" not in first:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"zfjl web did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, first


def stop_web(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(10)
