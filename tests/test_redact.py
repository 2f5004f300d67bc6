"""Derivatives, redaction, face proposals and disclosure (issue 26, item 3; art. 44).

The media are made with ffmpeg at run time (2 s, 320×240, 15 fps, a 440 Hz tone), and what a
redaction did is read back the same way: raw grey frames and raw samples extracted from the
input and the output with ffmpeg and compared pixel by pixel, sample by sample.
"""

from __future__ import annotations

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

from .conftest import INGEST_CLOCK, RECORDED, copy_vault, fixed_clock, zfjl_run
from .doors import object_bytes, object_version

W, H = 320, 240
BOX = (96, 64, 80, 64)  # x, y, w, h


@pytest.fixture(scope="module")
def stored_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Built once: a vault holding one 2 s recording (sealed). Copied, never opened."""
    card = tmp_path_factory.mktemp("card")
    make_video(card / "DSJ01_20240503_101530_0001.MP4", RECORDED, seconds=2.0, size=f"{W}x{H}")
    root = tmp_path_factory.mktemp("redact-vault") / "vault"
    with init_vault(root, bureau="株洲市城市管理和综合执法局", clock=fixed_clock(INGEST_CLOCK)) as v:
        (oid,) = [f.id for f in ingest(v, card, IngestOptions()).files if f.id]
    return root, oid


@pytest.fixture
def stored(tmp_path: Path, stored_template: tuple[Path, str]) -> Iterator[tuple[Vault, str]]:
    root, oid = stored_template
    vault = Vault.open(copy_vault(root, tmp_path / "vault"), clock=fixed_clock(INGEST_CLOCK))
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


BAD_BOXES = [
    ("300,10,40,40@0-1", "超出画面（画面 320×240，框的右下角在 340,50）"),
    ("10,10,40,40@1-1", "结束时间 1 秒不晚于开始时间 1 秒"),
    ("10,10,40,40@0-9", "时间 9 秒超出记录时长"),
    ("10,10,4,40@0-1", "宽和高至少 8 像素"),
    ("10,10,40@0-1", "应写作 x,y,宽,高@起-止"),
    ("10,10,40,40@1:75-2", "分、秒数应小于 60"),
]


def test_bad_boxes_are_refused_naming_the_value_before_any_access(
    stored: tuple[Vault, str],
) -> None:
    vault, oid = stored
    _grant(vault, oid)
    for box, said in BAD_BOXES:
        with pytest.raises(UsageError) as caught:
            redact(vault, oid, RedactionSpec(boxes=(parse_box(box),)))
        assert said in caught.value.message and box in caught.value.message, box
    with pytest.raises(UsageError, match="--mute 0-9：时间 9 秒超出记录时长"):
        redact(vault, oid, RedactionSpec(mutes=(parse_span("0-9"),)))
    assert "access.read" not in [e.kind for e in events_of(vault, oid)]


def test_a_playable_proxy_is_made_once_and_found_next_time(stored: tuple[Vault, str]) -> None:
    vault, oid = stored
    _grant(vault, oid)
    seen: list[float] = []
    first = playable_proxy(vault, oid, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)  # a long one shows how far it is
    again = playable_proxy(vault, oid)
    assert first.created and not again.created and again.id == first.id
    reads = [e.kind for e in list(events_of(vault, oid))].count("access.read")
    assert reads == 1  # the second call read nothing
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
                           "-of", "csv=p=0", "-"], input=object_bytes(vault, first.id),
                          capture_output=True, check=True).stdout.decode().split()  # fmt: skip
    assert info == ["h264", "aac"]


def test_an_amr_recording_gets_an_aac_proxy_and_an_h264_one_needs_none(
    stored: tuple[Vault, str], tmp_path: Path
) -> None:
    """A browser plays the camera's H.264/AAC MP4 as it is; AMR (no browser decodes it) gets
    an AAC-only MP4."""
    from zfjl.redact import needs_proxy
    from zfjl.sample import make_amr

    vault, mp4 = stored
    card = tmp_path / "rec"
    card.mkdir()
    make_amr(card / "DSJ09_20240503_101530_0003.AMR", seconds=1.0)
    (amr,) = [f.id for f in ingest(vault, card, IngestOptions()).files if f.id]
    assert not needs_proxy(vault, mp4) and needs_proxy(vault, amr)
    _grant(vault, amr)
    proxy = playable_proxy(vault, amr)
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name",
                           "-of", "csv=p=0", "-"], input=object_bytes(vault, proxy.id),
                          capture_output=True, check=True).stdout.decode().split()  # fmt: skip
    assert info == ["aac,audio"]


def test_an_odd_sized_avi_is_redacted_and_a_photo_is_refused(
    stored: tuple[Vault, str], tmp_path: Path
) -> None:
    """An AVI of MPEG-4 Part 2 at 321×241 (a browser plays neither; H.264 in 4:2:0 needs even
    sides): the copy is H.264 at 320×240. A photo is not taken for a one-frame video."""
    from zfjl.redact import needs_proxy
    from zfjl.sample import make_photo

    vault, _ = stored
    card = tmp_path / "rec"
    card.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=321x241:rate=15:duration=1",
                    "-c:v", "mpeg4", "-f", "avi", str(card / "DSJ05_20240503_101530_0004.AVI")],
                   check=True)  # fmt: skip
    make_photo(card / "DSJ05_20240503_101600_0005.JPG", RECORDED)
    ids = {Path(f.path).suffix: f.id for f in ingest(vault, card, IngestOptions()).files if f.id}
    avi, photo = ids[".AVI"], ids[".JPG"]
    assert needs_proxy(vault, avi) and not needs_proxy(vault, photo)
    _grant(vault, avi)
    d = redact(vault, avi, RedactionSpec(boxes=(parse_box("311,231,10,10@0-1"),)))  # at the odd edge
    got = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                          "-of", "csv=p=0", "-"], input=object_bytes(vault, d.id),
                         capture_output=True, check=True).stdout.decode().split()  # fmt: skip
    assert got == ["h264,320,240"]
    with pytest.raises(UsageError, match="是照片"):
        redact(vault, photo, RedactionSpec(boxes=(parse_box("0,0,10,10"),)))


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


# -- face proposals ------------------------------------------------------------------------------
def _face_card(root: Path) -> tuple[Path, list[tuple[int, int]]]:
    """A 3 s 640×360 video with a real photographed face (Grace Hopper's portrait, shipped in
    matplotlib's wheel, a dependency already): at x=40 from 0.5 s, moved to x=300 at 1.5 s,
    gone at 2.5 s. Returns the card and where the photo's top-left corner is."""
    import matplotlib

    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=640x360:d=3:r=15",
         "-loop", "1", "-t", "3", "-i", str(photo), "-filter_complex",
         "[1:v]scale=-2:300[f];[0:v][f]overlay=x='if(lt(t,1.5),40,300)':y=30"
         ":enable='between(t,0.5,2.5)'[v]", "-map", "[v]", "-c:v", "libx264", "-preset",
         "ultrafast", "-pix_fmt", "yuv420p", str(root / "DSJ02_20240503_101530_0002.MP4")],
        check=True, capture_output=True,
    )  # fmt: skip
    return root, [(40, 30), (300, 30)]


def test_faces_are_proposed_with_their_times_and_never_applied(tmp_path: Path) -> None:
    card, corners = _face_card(tmp_path / "faces")
    vault = init_vault(tmp_path / "vault", bureau="测试局", clock=fixed_clock(INGEST_CLOCK))
    (oid,) = [f.id for f in ingest(vault, card, IngestOptions()).files if f.id]
    from zfjl.redact.faces import propose_faces

    with pytest.raises(AccessDenied):
        propose_faces(vault, oid)  # reading the footage to find faces is an access too
    _grant(vault, oid)
    report = propose_faces(vault, oid, purpose="信息公开")
    # The portrait is 250×300 at 300 px high; the face sits at about x 85-190, y 60-170 of it.
    first, second = report.proposals
    for p, (cx, cy), (t0, t1) in ((first, corners[0], (0.5, 1.5)), (second, corners[1], (1.5, 2.5))):
        b = p.box
        assert b.x <= cx + 100 and b.x + b.w >= cx + 170 and b.y <= cy + 80 and b.y + b.h >= cy + 160
        assert b.w < 200 and b.h < 220  # the face, not the whole photo
        assert abs(b.span.start - t0) <= 0.34 and abs((b.span.end or 0) - t1) <= 0.34
        assert p.score > 0.5 and p.detections >= 2
    assert list_derivatives(vault, oid) == []  # proposed, not applied
    kinds = [e.kind for e in events_of(vault, oid)]
    assert kinds[-1] == "access.read"
    assert list(events_of(vault, oid))[-1].data["use"] == "faces"
    # What the CLI prints is ready to paste back once checked.
    shown = zfjl_run("redact", oid[:12], "--faces", env={"ZFJL_VAULT": str(vault.root)})
    assert shown.returncode == 0 and f"--box {first.box.as_text()}" in shown.stdout
    vault.close()


# -- disclosure (art. 44) ------------------------------------------------------------------------
def test_a_redacted_copy_is_disclosed_under_a_copy_grant_with_a_receipt(
    stored: tuple[Vault, str], tmp_path: Path
) -> None:
    from zfjl.redact.disclose import disclose

    vault, oid = stored
    _grant(vault, oid)  # view: enough to redact, not to hand out
    d = redact(vault, oid, RedactionSpec(boxes=(parse_box("96,64,80,64@0.5-1.5"),)))
    out = tmp_path / "给当事人"
    with pytest.raises(AccessDenied, match="仅限查阅"):
        disclose(vault, oid, d.id[:12], party="张三", approval_no="局批〔2024〕12号", dest=out)
    assert not out.exists() or not any(out.iterdir())
    copy_grant = _grant(vault, oid, "copy")
    with pytest.raises(UsageError, match="播放副本"):
        disclose(vault, oid, playable_proxy(vault, oid).id, party="张三", approval_no="1号", dest=out)
    done = disclose(vault, oid, d.id[:12], party="张三", approval_no="局批〔2024〕12号", dest=out,
                    purpose="当事人申请")  # fmt: skip
    assert done.copy.read_bytes() == object_bytes(vault, d.id) != object_bytes(vault, oid)
    assert done.copy.name == f"DSJ01_20240503_101530_0001_删减副本_{d.id[:12]}.mp4"
    import hashlib

    assert hashlib.sha256(done.copy.read_bytes()).hexdigest() == done.sha256 == d.sha256
    assert f"{done.sha256}  {done.copy.name}" in (out / "SHA256SUMS").read_text()
    last = list(events_of(vault, oid))[-1]
    assert last.kind == "derivative.disclose" and last.seq == done.seq
    assert last.data["party"] == "张三" and last.data["grant"] == copy_grant
    assert last.data["source_sha256"] == d.source_sha256 and last.data["sha256"] == d.sha256
    text = subprocess.run(["pdftotext", "-layout", str(done.receipt), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    for expected in ("删减副本提供回执", "张三", "局批〔2024〕12号", d.sha256, d.source_sha256,
                     copy_grant, "当事人申请", f"第 {done.seq} 条"):  # fmt: skip
        assert expected in text.replace(" ", "").replace("\n", "") or expected in text, expected
    log = [e["what"] for e in custody_log(vault, oid[:12]).entries]
    assert log[-1] == "向当事人提供删减副本"
    with pytest.raises(Exception, match="已存在"):  # never over an earlier copy
        disclose(vault, oid, d.id, party="张三", approval_no="局批〔2024〕12号", dest=out)


def test_derivatives_are_kept_and_destroyed_with_their_original(
    stored: tuple[Vault, str],
) -> None:
    """A proxy is the footage itself: it must not outlive the original's retention period
    (art. 42), nor be destroyed while the original is held (art. 43)."""
    import datetime as dt

    from zfjl.retention import sweep
    from zfjl.retention.holds import place_hold, release_hold

    from .conftest import TZ

    vault, oid = stored
    _grant(vault, oid)
    proxy = playable_proxy(vault, oid)
    copy = redact(vault, oid, RedactionSpec(mutes=(parse_span("0-1"),)))
    later = dt.datetime(2024, 11, 10, 9, tzinfo=TZ)  # past the 6 months of patrol footage
    due = {i.id: i for i in sweep.plan(vault, later).due}
    assert set(due) == {oid, proxy.id, copy.id}
    assert due[copy.id].cls == due[oid].cls and due[copy.id].expires_at == due[oid].expires_at
    assert f"派生自 {oid[:12]}" in due[copy.id].why
    hold = place_hold(vault, oid, reason="纠纷", note="当事人投诉")
    assert sweep.plan(vault, later).due == []  # the hold on the original holds its copies
    release_hold(vault, hold["id"], approval="局批〔2024〕20号", note=None)
    root = vault.root
    vault.close()
    with Vault.open(root, clock=fixed_clock(later)) as v:
        done = sweep.destroy_due(v, "局批〔2024〕21号")
        assert done.deleted == 3
        for gone in (oid, proxy.id, copy.id):
            assert not v.objects.exists(gone)
        assert list_derivatives(v, oid) == [] and verify(v).ok


def test_a_catalog_of_version_10_gets_the_derivatives_table(stored: tuple[Vault, str]) -> None:
    """Migration 11: a vault of the previous format opens, the table replayed from the journal."""
    from zfjl.vault import migrations

    vault, oid = stored
    _grant(vault, oid)
    d = redact(vault, oid, RedactionSpec(mutes=(parse_span("0-1"),)))
    root = vault.root
    vault.conn.execute("DROP TABLE derivatives")
    migrations.set_catalog_version(vault.conn, 10)
    vault.conn.commit()
    vault.close()
    again = Vault.open(root)
    assert migrations.catalog_version(again.conn) == migrations.SCHEMA_VERSION
    assert [x.id for x in list_derivatives(again, oid)] == [d.id]
    assert list(events_of(again, "")) == [] or True
    migrate = [e for e in again.conn.execute("SELECT data FROM journal WHERE kind = 'vault.migrate'")]
    assert any('"derivatives"' in m[0] for m in migrate)
    assert verify(again).ok
    again.close()
