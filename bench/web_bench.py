"""The review pages (`zfjl web`, docs/web.md) over a bureau's month: 50,000 recordings.

    .venv/bin/python bench/web_bench.py [--recordings 50000] [--rounds 7] [--no-browser]

Targets (issue 26): the search page renders in <= 300 ms; playback starts within 1 s on
loopback. Each figure is the whole HTTP exchange as a browser sees it, through `zfjl web`'s
own listener (a forked child per connection, the vault opened per request, the session
looked up, the page rendered): a new connection each time, as the first request of a page.
Playback start is timed in Debian's Chromium (Playwright) from navigation to the recording's
page until its <video> reaches readyState >= 3; the media's first byte is timed bare.

    .venv/bin/python bench/web_bench.py --keep /tmp/web-bench   # build once, measure again
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from zfjl.access import add_grant  # noqa: E402
from zfjl.ingest import ingest  # noqa: E402
from zfjl.sample import make_bureau_month, make_video  # noqa: E402
from zfjl.vault.setup import init_vault  # noqa: E402

PERIOD = "2024-05"
SEARCHES = {
    "no filter, page 1": "/recordings",
    "no filter, page 500": "/recordings?page=500",
    "officer (derived)": "/recordings?officer=10050",
    "device + late": "/recordings?device=DSJ050&late=1",
    "3 days, video, skew": "/recordings?from=2024-05-10&to=2024-05-12&kind=video&skew=1",
}


def build(root: Path, recordings: int) -> str:
    """A vault with a synthetic month and one real H.264/AAC recording under a view grant."""
    tz = dt.timezone(dt.timedelta(hours=8))
    with init_vault(root, bureau="株洲市城市管理和综合执法局") as v:
        started = time.perf_counter()
        make_bureau_month(v, PERIOD, recordings=recordings, cases=200)
        print(f"  {recordings} recordings journaled in {time.perf_counter() - started:.1f} s")
        card = root.parent / "card"
        card.mkdir()
        make_video(card / "DSJ001_20240520_101500_0001.MP4",
                   dt.datetime(2024, 5, 20, 10, 15, tzinfo=tz), seconds=20, size="1280x720")
        ingest(v, card)
        oid = str(v.conn.execute(
            "SELECT id FROM recordings WHERE original_name LIKE 'DSJ001_20240520_101500%'"
        ).fetchone()[0])
        add_grant(v, v.actor, oid, scope="view", approved_by="王局长", approval_no="局批〔2026〕1号",
                  until="2099-12-31")
        return oid


def get(base: str, path: str, cookie: str, headers: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    parts = urlsplit(base)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie, **(headers or {})})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return time.perf_counter() - started, resp.status, body


def login(url: str) -> str:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request("GET", f"{parts.path}?{parts.query}")
    resp = conn.getresponse()
    resp.read()
    return (resp.getheader("Set-Cookie") or "").split(";")[0]


def playback_in_chromium(link: str, page_url: str, rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        for _ in range(rounds):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            tab = context.new_page()
            asked: list[str] = []
            tab.on("request", lambda r, asked=asked: asked.append(r.headers.get("range", "-"))
                   if r.url.endswith("/media") else None)  # fmt: skip
            tab.goto(link())  # type: ignore[operator]
            tab.wait_for_url("**/recordings")
            started = time.perf_counter()
            tab.goto(page_url, wait_until="commit")
            while tab.evaluate("() => document.querySelector('video')?.readyState ?? -1") < 3:
                time.sleep(0.005)
            times.append(time.perf_counter() - started)
            print(f"    {times[-1] * 1000:.0f} ms, media requests (Range): {', '.join(asked)}")
            context.close()
        browser.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recordings", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--keep", type=Path, help="build the vault here once and reuse it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        root = (args.keep or Path(tmp)) / "vault"
        marker = root.parent / "recording.id"
        if marker.exists():
            oid = marker.read_text().strip()
        else:
            root.parent.mkdir(parents=True, exist_ok=True)
            print(f"building a vault of {args.recordings} recordings…")
            oid = build(root, args.recordings)
            marker.write_text(oid)
        proc = subprocess.Popen([sys.executable, "-m", "zfjl", "--vault", str(root), "web",
                                 "--listen", "127.0.0.1:0", "--json"], stdout=subprocess.PIPE,
                                text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            first = json.loads(proc.stdout.readline())
            parts = urlsplit(first["url"])
            base = f"{parts.scheme}://{parts.netloc}"
            cookie = login(first["url"])
            print(f"\nsearch page over {args.recordings} recordings (ms, whole HTTP exchange, "
                  f"{args.rounds} rounds; target <= 300):")
            for name, path in SEARCHES.items():
                times = []
                for _ in range(args.rounds):
                    took, status, body = get(base, path, cookie)
                    assert status == 200, (status, body[:200])
                    times.append(took * 1000)
                count = body.decode().split("共 ", 1)[1].split(" 条", 1)[0]
                print(f"  {name:<22} median {statistics.median(times):6.0f}  best {min(times):6.0f}"
                      f"  ({count} matching)")
            times = [get(base, f"/recordings/{oid}/media", cookie, {"Range": "bytes=0-65535"})[0] * 1000
                     for _ in range(args.rounds)]  # fmt: skip
            print(f"\nmedia first 64 KiB (Range, 206): median {statistics.median(times):.0f} ms, "
                  f"best {min(times):.0f} ms")
            times = [get(base, f"/recordings/{oid}", cookie)[0] * 1000 for _ in range(args.rounds)]
            print(f"the recording's page: median {statistics.median(times):.0f} ms, "
                  f"best {min(times):.0f} ms")
            if not args.no_browser and Path("/usr/bin/chromium").exists():
                from zfjl.vault.web_sessions import SessionStore

                def link() -> str:
                    return f"{base}/login?t={SessionStore(root).new_link(os.getuid())}"

                starts = playback_in_chromium(link, f"{base}/recordings/{oid}", max(3, args.rounds // 2))
                print(f"playback start in Chromium (page → readyState >= 3): median "
                      f"{statistics.median(starts) * 1000:.0f} ms, worst {max(starts) * 1000:.0f} ms"
                      " (target <= 1000)")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
