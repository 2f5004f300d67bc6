"""Issue 14: stored (durable, BLAKE3-named, catalogued) first, sealed (SHA-256, SHA-512, SM3
journaled) right behind; a kill -9 between the two loses nothing; hand-outs seal first; several
cameras at once under a cross-process cap; a vault of the previous catalog format opens."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from zfjl.bundle import bundle_case, verify_bundle
from zfjl.cases.io import read_case_file
from zfjl.cases.store import import_case
from zfjl.ingest import IngestOptions, Progress, ingest
from zfjl.ingest.describe import undescribed
from zfjl.ingest.station import ingest_running, ingest_slot, ingest_sources, locks_dir
from zfjl.vault import Vault, events, migrations
from zfjl.vault.seal import digests_of, seal, unsealed
from zfjl.vault.verify import verify

from .conftest import (
    APPROVAL,
    CASE_CLOCK,
    SAMPLE_CASES,
    fixed_clock,
    ingest_killed_once_stored,
    set_roles,
)
from .doors import (
    catalog_column,
    catalog_count,
    catalog_rows,
    corrupt_object,
    journal_events,
    journal_links,
    payloads,
    schema_version,
)


def _sums(folder: Path, algorithm: str) -> set[str]:
    return {hashlib.new(algorithm, p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six distinct real H.264 clips (one encode remuxed under six creation times), ~60 MB."""
    folder = tmp_path_factory.mktemp("seal") / "DSJ07" / "DCIM"
    folder.mkdir(parents=True)
    base = folder.parent / "base.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4", "-c:v", "libx264",
            "-preset", "ultrafast", "-b:v", "20M", "-minrate", "20M", "-maxrate", "20M",
            "-bufsize", "20M", "-pix_fmt", "yuv420p", base)  # fmt: skip
    for i in range(6):
        _ffmpeg("-i", base, "-c", "copy", "-metadata", f"creation_time=2024-05-06T10:0{i}:00",
                folder / f"DSJ07_20240506_100{i}00_{i:04d}.MP4")  # fmt: skip
    base.unlink()
    return folder.parent


def test_ingest_stores_by_blake3_then_seals_all_three_digests(vault: Vault, dump: Path) -> None:
    seen: list[str] = []
    report = ingest(vault, dump, progress=lambda p: seen.append(p.stage))
    assert "stored" in seen and seen[-1] == "sealed" and seen.index("stored") < seen.index("sealed")
    assert report.seal is not None and report.seal.sealed == report.count("new")
    assert report.sealed_seconds is not None and report.sealed_seconds >= report.stored_seconds
    # object.add names the content by BLAKE3 only; the seal journals the rest.
    adds = payloads(vault, events.ObjectAdd)
    assert adds and all(a.object["sha256"] is None for a in adds)
    digests = {r["id"]: r for r in catalog_rows(vault, "object_digests")}
    rows = [(o["sha256"], digests[o["id"]]["sha512"], digests[o["id"]]["sm3"], o["sealed_at"])
            for o in catalog_rows(vault, "objects") if o["id"] in digests]  # fmt: skip
    assert len(rows) == report.count("new") and all(r[3] for r in rows)
    assert {r[0] for r in rows} == _sums(dump, "sha256")  # what sha256sum says of the card
    assert {r[1] for r in rows} == _sums(dump, "sha512")
    assert {r[2] for r in rows} == _sums(dump, "sm3")
    assert not unsealed(vault)
    assert verify(vault, digests=True).ok


def test_no_seal_leaves_stored_objects_that_verify_names_and_seal_completes(
    vault: Vault, dump: Path
) -> None:
    report = ingest(vault, dump, IngestOptions(seal=False))
    assert report.seal is None and report.sealed_seconds is None
    pending = unsealed(vault)
    assert len(pending) == report.count("new")
    found = verify(vault)
    assert found.ok  # stored is safe: unsealed is a warning, not damage
    assert {f.subject for f in found.findings if f.code == "unsealed"} == {o for o, _ in pending}
    assert seal(vault).sealed == len(pending)
    assert not unsealed(vault) and seal(vault).sealed == 0  # idempotent
    assert verify(vault, digests=True).ok


def test_a_damaged_object_is_never_sealed(vault: Vault, dump: Path) -> None:
    ingest(vault, dump, IngestOptions(seal=False))
    oid, size = max(unsealed(vault), key=lambda r: r[1])
    corrupt_object(vault, oid, keep_read_only=False)  # a bit flipped before the seal read it
    report = seal(vault)
    assert [(p.id, p.code) for p in report.problems] == [(oid, "digest_mismatch")]
    assert (oid, size) in unsealed(vault)  # no digests of other bytes were journaled


def test_kill_9_between_stored_and_sealed_loses_nothing_and_the_next_run_seals(
    videos: Path, tmp_path: Path
) -> None:
    root = tmp_path / "vault"
    zfjl = ingest_killed_once_stored(root, videos)
    with Vault.open(root) as v:
        stored = set(catalog_column(v, "objects", "id"))
        assert len(stored) == 6  # every clip catalogued: nothing lost
        assert unsealed(v)  # killed before the seal finished
        assert all(v.objects.exists(o) for o in stored)
    # The next run (here the same card docked again) seals what the killed one left.
    again = zfjl("ingest", str(videos))
    assert again.returncode == 0, again.stderr
    with Vault.open(root) as v:
        assert not unsealed(v) and not undescribed(v)
        assert catalog_count(v, "recordings", kind="video") == 6
        assert set(catalog_column(v, "objects", "sha256")) == _sums(videos, "sha256")
        assert verify(v, digests=True).ok


def test_a_bundle_of_an_unsealed_recording_seals_it_first(
    tmp_path: Path, case_dump: Path
) -> None:
    from zfjl.vault.setup import init_vault

    v = init_vault(tmp_path / "vault", bureau="株洲市城市管理和综合执法局", clock=fixed_clock(CASE_CLOCK))
    ingest(v, case_dump, IngestOptions(seal=False))
    case = read_case_file(SAMPLE_CASES / "penalty.yaml")
    # The object files away while the case is imported (an object store not yet mounted): the
    # import links the recordings, unsealed; the files are back before the bundle.
    objects, aside = v.root / "objects", tmp_path / "aside"
    shutil.move(objects, aside)
    objects.mkdir()
    import_case(v, case)
    objects.rmdir()
    shutil.move(aside, objects)
    linked = sorted(set(catalog_column(v, "case_media", "recording_id", case_id=case["case"])))
    assert linked and {o for o, _ in unsealed(v, linked)} == set(linked)
    set_roles(v, "legal")
    bundle_case(v, case["case"], tmp_path / "bag", purpose="court", approval=APPROVAL)
    assert not unsealed(v, linked)  # sealed first
    seals = [e.seq for e in journal_events(v, events.ObjectDigests, linked[0])]
    assert len(seals) == 1
    bundled = journal_events(v, events.CaseBundle)[-1].seq
    assert seals and seals[0] < bundled
    checked = verify_bundle(tmp_path / "bag", vault=v)
    assert checked.ok, checked.as_dict()
    v.close()


def test_several_cameras_at_once_share_a_cross_process_cap(
    vault: Vault, dump: Path, tmp_path: Path
) -> None:
    cards = []
    for i in range(3):
        card = tmp_path / f"DSJ0{i}"
        shutil.copytree(dump, card)
        (card / f"NOTE{i}.TXT").write_text(f"camera {i}\n", "ascii")
        cards.append(str(card))
    cards.append(str(tmp_path / "unplugged"))  # never docked: its own error, not the others'
    stages: dict[int, list[str]] = {}
    lock = threading.Lock()

    def progress(i: int, p: Progress) -> None:
        with lock:
            stages.setdefault(i, []).append(p.stage)

    # One slot, held by "another process" (a descriptor of our own) for a moment: everyone queues.
    fd = os.open(locks_dir(vault) / "ingest-slot-0.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.5, os.close, (fd,)).start()
    started = time.monotonic()
    outcomes, sealed = ingest_sources(vault, cards, progress=progress, workers=1)
    assert time.monotonic() - started >= 0.5
    assert all(stages[i][0] == "queued" for i in range(4))
    assert [o.error is None for o in outcomes] == [True, True, True, False]
    assert outcomes[3].error is not None and "找不到" in outcomes[3].error.message
    reports = [o.report for o in outcomes[:3]]
    assert all(r is not None and not r.failed and "stored" in stages[i] for i, r in enumerate(reports))
    assert sealed is not None and not unsealed(vault)
    notes = set(catalog_column(vault, "recordings", "original_name"))
    assert {"NOTE0.TXT", "NOTE1.TXT", "NOTE2.TXT"} <= notes


def test_a_slot_is_exclusive_between_threads_of_one_process(vault: Vault) -> None:
    order: list[str] = []
    with ingest_slot(vault, 1):
        t = threading.Thread(target=lambda: _take(vault, order))
        t.start()
        time.sleep(0.3)
        order.append("first done")
    t.join()
    assert order == ["first done", "second in"]


def _take(vault: Vault, order: list[str]) -> None:
    with ingest_slot(vault, 1):
        order.append("second in")


LEGACY = Path(__file__).parent / "legacy" / "vault-schema-3"


def _sealed_sha256(v: Vault) -> dict[str, str | None]:
    return {r["id"]: r["sha256"] for r in catalog_rows(v, "objects")}


def test_a_vault_of_the_previous_format_opens_and_its_backlog_is_sealed(tmp_path: Path) -> None:
    """tests/legacy/vault-schema-3, as the previous zfjl wrote it (SHA-256 with object.add,
    objects.sha256 NOT NULL, no sealed_at): after migration 5 nothing is lost, its objects are
    unsealed until the seal (they lack SHA-512/SM3), and the seal keeps the SHA-256 journaled
    at ingest, having checked it against the bytes."""
    root = tmp_path / "old"
    shutil.copytree(LEGACY, root, ignore=shutil.ignore_patterns("catalog.sql", "README.md"))
    for obj in (root / "objects").rglob("*"):
        if obj.is_file():
            obj.chmod(0o444)
    (root / "tmp").mkdir()
    conn = sqlite3.connect(root / "catalog.db")
    conn.executescript((LEGACY / "catalog.sql").read_text(encoding="utf-8"))
    conn.execute("PRAGMA user_version = 3")
    before = dict(conn.execute("SELECT id, sha256 FROM objects"))
    journal = conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    conn.close()
    assert len(before) == 3 and all(before.values())
    with Vault.open(root) as v:
        assert schema_version(v) == migrations.SCHEMA_VERSION
        assert journal_links(v)[: len(journal)] == journal
        migrated = [m.name for m in payloads(v, events.VaultMigrate)]
        assert "stored_then_sealed" in migrated and "described_after_stored" in migrated
        assert not undescribed(v)  # its object.add rows carried the recordings
        assert _sealed_sha256(v) == before
        assert {o for o, _ in unsealed(v)} == set(before)
        assert verify(v).ok
        report = seal(v)
        assert report.sealed == 3 and not report.problems
        assert _sealed_sha256(v) == before
        assert not unsealed(v)
        assert verify(v, digests=True).ok
        # Issue 24: its objects through the store seam; its slot locks made on first use.
        assert set(v.objects.list_oids()) == set(before) and not (root / "locks").exists()
        with ingest_slot(v, 1):
            assert ingest_running(v) and (root / "locks" / "ingest-slot-0.lock").is_file()


def test_digests_of_matches_the_standard_tools(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(os.urandom(3 << 20) + b"tail")
    d = digests_of(p)
    data = p.read_bytes()
    assert d["sha256"] == hashlib.sha256(data).hexdigest()
    assert d["sha512"] == hashlib.sha512(data).hexdigest()
    assert d["sm3"] == hashlib.new("sm3", data).hexdigest()
    if shutil.which("b3sum"):
        out = subprocess.run(["b3sum", "--no-names", str(p)], capture_output=True, text=True)
        assert d["blake3"] == out.stdout.strip()
