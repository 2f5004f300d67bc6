"""Redaction and disclosure on the recording's page (issue 26 item 3 in the browser; docs/web.md,
docs/redact.md): a box drawn with the mouse on the player's frame, face proposals ticked
before they apply, and a redacted copy handed to a party under a copy grant with its receipt.

The browser is test_web.py's fixture (Debian's Chromium through Playwright, one per process);
the vault is a small one of its own: one 3-s 640x360 recording with a real photographed face
(test_redact.py's card), so that redaction and face detection take a second or two."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from zfjl.vault import Vault

from .conftest import INGEST_CLOCK, fixed_clock
from .doors import object_bytes, object_version
from .test_redact import _face_card
from .test_web import (
    ARTEFACTS,
    VIEWPORT,
    _journal,
    _shot,
    _wait_playable,
    browser,  # noqa: F401  (the browser fixture: one Chromium per test process)
)
from .web_fixtures import CHROMIUM, start_web, stop_web

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

W, H = 640, 360
DRAWN = (120, 60, 140, 160)  # x, y, w, h in the video's pixels: the face at 1.0 s
FAR = "2099-12-31"


@dataclass
class Site:
    root: Path
    base: str
    oid: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from zfjl.access import add_grant
    from zfjl.ingest import IngestOptions, ingest
    from zfjl.vault.setup import init_vault

    base = tmp_path_factory.mktemp("web-redact")
    card, _ = _face_card(base / "card")
    with init_vault(base / "vault", bureau="株洲市城市管理和综合执法局",
                    clock=fixed_clock(INGEST_CLOCK)) as v:  # fmt: skip
        (oid,) = [f.id for f in ingest(v, card, IngestOptions()).files if f.id]
        add_grant(v, v.actor, oid, scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕9号", until=FAR, purpose="信息公开")  # fmt: skip
    proc, first = start_web(base / "vault")
    parts = urlsplit(first["url"])
    try:
        yield Site(base / "vault", f"{parts.scheme}://{parts.netloc}", oid)
    finally:
        stop_web(proc)


@pytest.fixture(scope="module")
def page(browser: Any, site: Site) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
    tab = context.new_page()
    tab.goto(_first_link(site))
    tab.wait_for_url(f"{site.base}/recordings")
    yield tab
    context.close()


def _first_link(site: Site) -> str:
    import os

    from zfjl.vault.web_sessions import SessionStore

    return f"{site.base}/login?t={SessionStore(site.root).new_link(os.getuid())}"


def _frame(data: Path, at: float) -> np.ndarray:
    """The grey frame shown at `at` seconds, as ffmpeg decodes it (test_redact.py's helper)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(data), "-ss", f"{at}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"], check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(H, W).astype(np.int16)


def _split(diff: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Mean difference inside the box and outside it."""
    x, y, w, h = box
    mask = np.zeros(diff.shape, bool)
    mask[y : y + h, x : x + w] = True
    return float(diff[mask].mean()), float(diff[~mask].mean())


def _open_at(tab: Any, site: Site, seconds: float) -> None:
    """The recording's page with the player paused at `seconds` and that frame on the canvas."""
    tab.goto(f"{site.base}/recordings/{site.oid[:12]}")
    _wait_playable(tab)
    tab.evaluate(f"() => {{ const v = document.querySelector('video'); v.pause(); v.currentTime = {seconds}; }}")
    deadline = time.monotonic() + 10
    while tab.evaluate("() => document.querySelector('[data-frame-at]').textContent") != f"画面时刻：{seconds:.1f} 秒":
        assert time.monotonic() < deadline, "the frame was not drawn on the canvas"
        time.sleep(0.05)


def _drag(tab: Any, start: tuple[int, int], end: tuple[int, int]) -> None:
    """A mouse drag on the frame between two points given in the video's pixels."""
    bb = tab.locator("canvas[data-frame]").bounding_box()
    to_css = lambda p: (bb["x"] + p[0] * bb["width"] / W, bb["y"] + p[1] * bb["height"] / H)  # noqa: E731
    tab.mouse.move(*to_css(start))
    tab.mouse.down()
    tab.mouse.move(*to_css(end), steps=8)
    tab.mouse.up()


def _derivatives(site: Site) -> list[Any]:
    from zfjl.redact import list_derivatives

    with Vault.open(site.root) as v:
        return list_derivatives(v, site.oid)


def test_a_box_drawn_with_the_mouse_blurs_those_pixels_only(page: Any, site: Site) -> None:
    with Vault.open(site.root) as v:
        before = object_version(v, site.oid)
    page.goto(f"{site.base}/recordings/{site.oid[:12]}")
    for name, value in zip(("x", "y", "w", "h", "t1"), ("600", "10", "80", "40", "1"), strict=True):
        page.fill(f"input[name={name}]", value)  # typed, not drawn: past the frame's right edge
    page.get_by_role("button", name="生成删减副本").click()
    page.wait_for_load_state()
    shown = page.inner_text("main")
    assert "遮挡框 600,10,80,40@0-1：超出画面" in shown and not _derivatives(site)  # refused, named
    _shot(page, "redact-box-refused")
    _open_at(page, site, 1.0)
    x, y, w, h = DRAWN
    _drag(page, (x, y), (x + w, y + h))
    got = [int(page.input_value(f"input[name={k}]")) for k in "xywh"]
    assert all(abs(a - b) <= 2 for a, b in zip(got, DRAWN, strict=True)), got  # frame pixels, not CSS
    page.fill("input[name=t0]", "0.5")
    page.fill("input[name=t1]", "1.5")
    page.locator("#redact").scroll_into_view_if_needed()
    _shot(page, "redact-box-drawn")
    page.get_by_role("button", name="生成删减副本").click()
    page.wait_for_url("**derivative=**")
    _wait_playable(page)  # the redacted copy plays
    (made,) = _derivatives(site)
    assert made.kind == "redaction" and page.url.split("derivative=")[1].startswith(made.id)
    assert made.params["boxes"][0]["from"] == 0.5 and made.params["boxes"][0]["to"] == 1.5
    assert "删减副本" in page.inner_text("#derivatives") and made.id[:12] in page.inner_text("#derivatives")
    assert _journal(site.root, "derivative.make", site.oid)[-1]["data"]["id"] == made.id
    _shot(page, "redact-derivative-listed")
    box = tuple(made.params["boxes"][0][k] for k in ("x", "y", "w", "h"))  # as widened to even
    with Vault.open(site.root) as v, v.objects.local_path(site.oid) as original:
        out = site.root.parent / "redacted.mp4"
        out.write_bytes(object_bytes(v, made.id))
        for at, in_range in ((1.0, True), (0.2, False), (2.0, False)):
            inside, outside = _split(np.abs(_frame(original, at) - _frame(out, at)), box)
            assert outside < 2.0, (at, outside)  # re-encoded, otherwise the same picture
            assert (inside > 8.0) if in_range else (inside < 3.0), (at, inside)
        assert object_version(v, site.oid) == before  # the original never changes


def test_face_proposals_are_shown_and_only_a_ticked_one_is_applied(page: Any, site: Site) -> None:
    made_before = len(_derivatives(site))
    _open_at(page, site, 1.0)
    page.get_by_role("button", name="人脸建议").click()
    page.wait_for_selector("[data-faces-result]")
    proposals = page.locator("input[data-proposal]")
    assert proposals.count() == 2  # the portrait before and after it moves
    assert not any(proposals.nth(i).is_checked() for i in range(2))  # never applied unseen
    assert len(_derivatives(site)) == made_before  # proposing made nothing
    read = _journal(site.root, "access.read", site.oid)[-1]["data"]
    assert read["use"] == "faces"  # reading the footage to look for faces is journaled
    wait_canvas = time.monotonic() + 10  # the page reloaded: wait for its frame again
    page.evaluate("() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 1.0; }")
    while "1.0" not in page.inner_text("[data-frame-at]") and time.monotonic() < wait_canvas:
        time.sleep(0.05)
    page.locator("#redact").scroll_into_view_if_needed()
    _shot(page, "redact-face-proposals")
    chosen = proposals.nth(0).get_attribute("value")
    proposals.nth(0).check()
    page.get_by_role("button", name="生成删减副本").click()
    page.wait_for_url("**derivative=**")
    made = _derivatives(site)
    assert len(made) == made_before + 1
    boxes = made[-1].params["boxes"]
    assert len(boxes) == 1  # the unticked proposal was not applied
    from zfjl.redact import parse_box

    want = parse_box(chosen or "")
    assert abs(boxes[0]["x"] - want.x) <= 1 and abs(boxes[0]["w"] - want.w) <= 2
    assert boxes[0]["from"] == want.span.start


def test_disclosure_is_refused_without_a_copy_grant_then_handed_out_with_a_receipt(
    page: Any, site: Site
) -> None:
    from zfjl.access import add_grant

    did = next(d.id for d in _derivatives(site) if d.kind == "redaction")
    denied = len(_journal(site.root, "access.denied", site.oid))

    def offer() -> Any:
        page.goto(f"{site.base}/recordings/{site.oid[:12]}")
        item = page.locator(f"[data-derivative='{did}']")
        item.locator("summary").click()
        item.locator("input[name=party]").fill("张三")
        item.locator("input[name=approval_no]").fill("局批〔2024〕12号")
        item.locator("input[name=purpose]").fill("当事人申请")
        with page.expect_navigation():
            item.get_by_role("button", name="提供删减副本并生成回执").click()

    offer()
    assert "仅限查阅" in page.inner_text("main")  # the reason, shown
    assert len(_journal(site.root, "access.denied", site.oid)) == denied + 1  # and journaled
    assert not _journal(site.root, "derivative.disclose", site.oid)
    _shot(page, "disclose-refused")
    with Vault.open(site.root) as v:
        grant = add_grant(v, v.actor, site.oid, scope="copy", approved_by="王局长",
                          approval_no="局批〔2024〕11号", until=FAR, purpose="当事人申请")["id"]  # fmt: skip
        want = hashlib.sha256(object_bytes(v, did)).hexdigest()
    offer()
    assert "已提供删减副本" in page.inner_text("h1")
    (given,) = _journal(site.root, "derivative.disclose", site.oid)
    assert given["data"]["party"] == "张三" and given["data"]["grant"] == grant
    assert given["data"]["derivative"] == did and given["data"]["sha256"] == want
    _shot(page, "disclose-done")
    files = {}
    for which in ("copy", "receipt"):
        with page.expect_download() as got:
            page.locator(f"[data-download={which}]").click()
        files[which] = ARTEFACTS / got.value.suggested_filename
        got.value.save_as(files[which])
    assert hashlib.sha256(files["copy"].read_bytes()).hexdigest() == want
    assert files["copy"].name.endswith(f"_删减副本_{did[:12]}.mp4")
    text = subprocess.run(["pdftotext", "-layout", str(files["receipt"]), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    flat = text.replace(" ", "").replace("\n", "")
    for expected in ("删减副本提供回执", "张三", "局批〔2024〕12号", want, grant):
        assert expected in flat, expected
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(files["receipt"]),
                    str(ARTEFACTS / "disclose-receipt")], check=True)  # fmt: skip
    files["copy"].unlink()  # a copy of footage is no test artefact to keep


def test_the_form_reads_as_the_clis_redaction_spec() -> None:
    """Ticked boxes in the CLI's syntax, one typed box (an end alone starts at 0), muted ranges
    however separated, mosaic; an unknown method is blur; a bad value is the CLI's refusal."""
    from werkzeug.datastructures import MultiDict

    from zfjl.errors import UsageError
    from zfjl.redact import Box, Span
    from zfjl.web.app import MAX_BOXES, redaction_spec

    form = MultiDict([("box", "10,20,30,40@1-2"), ("box", " "), ("x", "5"), ("y", "6"),
                      ("w", "16"), ("h", "16"), ("t1", "2.5"), ("mute", "0.5-1, 3-4；6-"),
                      ("method", "mosaic")])  # fmt: skip
    spec = redaction_spec(form)
    assert spec.boxes == (Box(10, 20, 30, 40, Span(1.0, 2.0)), Box(5, 6, 16, 16, Span(0.0, 2.5)))
    assert spec.mutes == (Span(0.5, 1.0), Span(3.0, 4.0), Span(6.0, None)) and spec.method == "mosaic"
    assert redaction_spec(MultiDict([("x", "1"), ("y", "1"), ("w", "8"), ("h", "8"),
                                     ("method", "x")])).boxes[0].span == Span(0.0, None)  # fmt: skip
    assert redaction_spec(MultiDict([("method", "<script>")])).method == "blur"
    many = redaction_spec(MultiDict([("box", "0,0,8,8")] * (MAX_BOXES + 5)))
    assert len(many.boxes) == MAX_BOXES
    with pytest.raises(UsageError, match="至少 8 像素"):
        redaction_spec(MultiDict([("box", "0,0,4,4")]))
