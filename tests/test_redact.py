"""Derivatives, redaction, face proposals and disclosure (issue 26, item 3; art. 44).

The media are made with ffmpeg at run time (2 s, 320×240, 15 fps, a 440 Hz tone), and what a
redaction did is read back the same way: raw grey frames and raw samples extracted from the
input and the output with ffmpeg and compared pixel by pixel, sample by sample.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from zfjl.access import add_grant, custody_log
from zfjl.errors import AccessDenied, UsageError
from zfjl.ingest import IngestOptions, ingest
from zfjl.redact import (
    RedactionSpec,
    list_derivatives,
    parse_box,
    parse_span,
    playable_proxy,
    redact,
)
from zfjl.sample import make_video
from zfjl.vault import Vault
from zfjl.vault.queries.journal import events_of
from zfjl.vault.setup import init_vault
from zfjl.vault.verify import verify

from .conftest import INGEST_CLOCK, RECORDED, fixed_clock, zfjl_run
from .doors import object_bytes, object_version

W, H = 320, 240
BOX = (96, 64, 80, 64)  # x, y, w, h


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    make_video(root / "DSJ01_20240503_101530_0001.MP4", RECORDED, seconds=2.0, size=f"{W}x{H}")
    return root


@pytest.fixture
def stored(tmp_path: Path, card: Path) -> Iterator[tuple[Vault, str]]:
    vault = init_vault(tmp_path / "vault", bureau="株洲市城市管理和综合执法局",
                       clock=fixed_clock(INGEST_CLOCK))  # fmt: skip
    report = ingest(vault, card, IngestOptions())
    (oid,) = [f.id for f in report.files if f.id]
    yield vault, oid
    vault.close()


def _grant(vault: Vault, oid: str, scope: str = "view") -> str:
    g = add_grant(vault, vault.actor, oid, scope=scope, approved_by="王局长",
                  approval_no="局批〔2024〕8号", until="2099-12-31")  # fmt: skip
    return str(g["id"])


def _frame(path: Path, at: float) -> np.ndarray:
    """The grey frame shown at `at` seconds, as ffmpeg decodes it."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ss", f"{at}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(H, W).astype(np.int16)


def _samples(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "8000",
         "-f", "s16le", "-"], check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, "<i2").astype(np.float64)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def _inside(a: np.ndarray) -> np.ndarray:
    x, y, w, h = BOX
    return a[y : y + h, x : x + w]


def _outside(a: np.ndarray) -> np.ndarray:
    x, y, w, h = BOX
    mask = np.ones(a.shape, bool)
    mask[y : y + h, x : x + w] = False
    return a[mask]


def _ring(a: np.ndarray, pad: int = 4) -> np.ndarray:
    """The band `pad` pixels wide just outside the box: where a leaking blur would show."""
    x, y, w, h = BOX
    mask = np.zeros(a.shape, bool)
    mask[y - pad : y + h + pad, x - pad : x + w + pad] = True
    mask[y : y + h, x : x + w] = False
    return a[mask]


def test_a_drawn_box_blurs_those_pixels_only_then_and_a_muted_range_is_silent(
    stored: tuple[Vault, str], tmp_path: Path
) -> None:
    vault, oid = stored
    _grant(vault, oid)
    before = object_version(vault, oid)
    spec = RedactionSpec(boxes=(parse_box("{},{},{},{}@0.5-1.5".format(*BOX)),),
                         mutes=(parse_span("0.6-1.4"),))  # fmt: skip
    d = redact(vault, oid[:12], spec, purpose="信息公开")
    out = tmp_path / "redacted.mp4"
    out.write_bytes(object_bytes(vault, d.id))
    with vault.objects.local_path(oid) as original:
        for at, inside_box_changes in ((1.0, True), (0.2, False), (1.8, False)):
            a, b = _frame(original, at), _frame(out, at)
            diff = np.abs(a - b)
            outside = float(_outside(diff).mean())
            inside = float(_inside(diff).mean())
            assert outside < 2.0, (at, outside)  # re-encoded, otherwise the same picture
            assert float(_ring(diff).mean()) < 3.0, at  # the blur stops at the box's edge
            assert (inside > 15.0) if inside_box_changes else (inside < 3.0), (at, inside)
        tone = _samples(original)
    sound = _samples(out)
    assert _rms(tone[int(0.7 * 8000) : int(1.3 * 8000)]) > 1000  # the original rings there
    assert _rms(sound[int(0.7 * 8000) : int(1.3 * 8000)]) < 5  # silent in the redacted copy
    assert _rms(sound[int(0.1 * 8000) : int(0.5 * 8000)]) > 1000  # still ringing outside
    assert object_version(vault, oid) == before  # the original never changes


def test_the_derivative_is_journaled_with_both_digests_sealed_and_listed(
    stored: tuple[Vault, str],
) -> None:
    vault, oid = stored
    grant = _grant(vault, oid)
    d = redact(vault, oid, RedactionSpec(boxes=(parse_box("8,8,32,32@0-1"),), method="mosaic"))
    kinds = [e.kind for e in list(events_of(vault, oid))]
    assert kinds[-2:] == ["access.read", "derivative.make"]  # the read before the making
    make = list(events_of(vault, oid))[-1].data
    source_sha = vault.conn.execute("SELECT sha256 FROM objects WHERE id = ?", (oid,)).fetchone()[0]
    assert make["id"] == d.id and make["source"] == oid and make["kind"] == "redaction"
    assert make["source_sha256"] == source_sha and make["grant"] == grant
    assert make["params"]["boxes"] == [{"x": 8, "y": 8, "w": 32, "h": 32, "from": 0.0, "to": 1.0}]
    assert make["params"]["method"] == "mosaic" and "libx264" in make["params"]["encode"]
    assert make["tools"]["ffmpeg"] not in ("", "unknown")
    import hashlib

    assert make["sha256"] == hashlib.sha256(object_bytes(vault, d.id)).hexdigest()
    sealed = vault.conn.execute("SELECT sealed_at FROM objects WHERE id = ?", (d.id,)).fetchone()
    assert sealed[0] is not None  # its SHA-512 and SM3 journaled too
    assert [x.id for x in list_derivatives(vault, oid)] == [d.id]
    assert verify(vault).ok  # the new object is checked like any other, the replay agrees


def test_without_a_grant_nothing_is_read_and_the_refusal_is_journaled(
    stored: tuple[Vault, str],
) -> None:
    vault, oid = stored
    with pytest.raises(AccessDenied):
        redact(vault, oid, RedactionSpec(mutes=(parse_span("0-1"),)))
    kinds = [e.kind for e in list(events_of(vault, oid))]
    assert kinds[-1] == "access.denied" and "access.read" not in kinds
    assert list_derivatives(vault, oid) == []


@pytest.mark.parametrize(
    ("box", "said"),
    [
        ("300,10,40,40@0-1", "超出画面（画面 320×240，框的右下角在 340,50）"),
        ("10,10,40,40@1-1", "结束时间 1 秒不晚于开始时间 1 秒"),
        ("10,10,40,40@0-9", "时间 9 秒超出记录时长"),
        ("10,10,4,40@0-1", "宽和高至少 8 像素"),
        ("10,10,40@0-1", "应写作 x,y,宽,高@起-止"),
    ],
)
def test_bad_boxes_are_refused_naming_the_value_before_any_access(
    stored: tuple[Vault, str], box: str, said: str
) -> None:
    vault, oid = stored
    _grant(vault, oid)
    with pytest.raises(UsageError) as caught:
        redact(vault, oid, RedactionSpec(boxes=(parse_box(box),)))
    assert said in caught.value.message and box in caught.value.message
    assert "access.read" not in [e.kind for e in list(events_of(vault, oid))]


def test_a_playable_proxy_is_made_once_and_found_next_time(stored: tuple[Vault, str]) -> None:
    vault, oid = stored
    _grant(vault, oid)
    first = playable_proxy(vault, oid)
    again = playable_proxy(vault, oid)
    assert first.created and not again.created and again.id == first.id
    reads = [e.kind for e in list(events_of(vault, oid))].count("access.read")
    assert reads == 1  # the second call read nothing
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
                           "-of", "csv=p=0", "-"], input=object_bytes(vault, first.id),
                          capture_output=True, check=True).stdout.decode().split()  # fmt: skip
    assert info == ["h264", "aac"]


def test_the_cli_redacts_shows_the_derivative_and_refuses_a_bad_box_in_chinese(
    stored: tuple[Vault, str],
) -> None:
    vault, oid = stored
    _grant(vault, oid)
    env = {"ZFJL_VAULT": str(vault.root)}
    bad = zfjl_run("redact", oid[:12], "--box", "10,10,40,40@0-9", env=env)
    assert bad.returncode == 2 and "--box 10,10,40,40@0-9" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = zfjl_run("redact", oid[:12], "--box", "10,10,40,40@0-1", "--mute", "0.5-1", "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    import json

    made = json.loads(ok.stdout)
    shown = zfjl_run("show", oid[:12], "--json", env=env)
    assert [d["id"] for d in json.loads(shown.stdout)["derivatives"]] == [made["id"]]
    text = zfjl_run("show", oid[:12], env=env).stdout
    assert "删减副本" in text and made["id"][:12] in text
    _ = dt  # keep the import for the later tests
