"""What every object store must do (zfjl.vault.store.ObjectStorage), run against each store
factory in STORES: the local folder and the S3 bucket with Object Lock on a real SeaweedFS
(tests/seaweed.py; restic's backend test suite is the model). Each test says what would break
in the vault if it failed. The S3 store here writes with the owner's credential (the suite
deletes) and a two-second lock, so a delete test waits for the lock to lapse: the store itself
refuses an earlier delete (tests/test_s3_worm.py proves that part)."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest

from tests.seaweed import OWNER_PROFILE, Seaweed
from zfjl.errors import StorageError
from zfjl.vault.objects import FileIdentity, ObjectStore, SourceChanged
from zfjl.vault.store import ObjectStorage

Opener = Callable[[], ObjectStorage]  # opens the same store again (another writer, a child)
StoreFactory = Callable[[Path, pytest.FixtureRequest], Opener]
S3_LOCK = dt.timedelta(seconds=2)  # longer than an upload takes on a loaded machine


def _local(root: Path, request: pytest.FixtureRequest) -> Opener:
    for sub in ("objects", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return lambda: ObjectStore(root)


def _s3(root: Path, request: pytest.FixtureRequest) -> Opener:
    """One test's own prefix in the session's bucket, its own spool folder."""
    from zfjl.vault.s3store import S3ObjectStore

    seaweed: Seaweed = request.getfixturevalue("seaweed")
    prefix = seaweed.prefix()
    return lambda: S3ObjectStore(seaweed.bucket, root, prefix=prefix, profile=OWNER_PROFILE,
                                 retention=S3_LOCK)  # fmt: skip


STORES: dict[str, StoreFactory] = {"local": _local, "s3": _s3}


@pytest.fixture(params=sorted(STORES))
def store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return STORES[request.param](tmp_path / "store", request)


@pytest.fixture
def store(store_opener: Opener) -> ObjectStorage:
    return store_opener()


def wait_unlocked(store: ObjectStorage, oid: str) -> None:
    """Until the store's own lock on `oid` has lapsed (at once on a store without one)."""
    until = store.protection(oid).retain_until
    if until is not None:
        time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)


def oid_of(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def put_bytes(store: ObjectStorage, data: bytes) -> str:
    [result] = store.put([store.stage_stream(io.BytesIO(data), size=len(data))])
    return result.digests.blake3


def put_file(store: ObjectStorage, path: Path) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        pending = store.stage(fd, FileIdentity.of(os.fstat(fd)))
    finally:
        os.close(fd)
    return store.put([pending])[0].digests.blake3


# -- writing -----------------------------------------------------------------------------
def test_a_batch_is_written_once_and_returns_its_digests(store: ObjectStorage, tmp_path: Path) -> None:
    sources = []
    for i in range(5):
        (p := tmp_path / f"f{i}").write_bytes(os.urandom(1000 + i) * (i + 1))
        sources.append(p)
    pendings = []
    for p in sources:
        fd = os.open(p, os.O_RDONLY)
        pendings.append(store.stage(fd, FileIdentity.of(os.fstat(fd))))
        os.close(fd)
    assert not list(store.list_oids())  # staged is invisible
    results = store.put(pendings)
    assert [r.digests.blake3 for r in results] == [oid_of(p.read_bytes()) for p in sources]
    assert [r.digests.size for r in results] == [p.stat().st_size for p in sources]
    assert all(r.created for r in results)
    again = put_file(store, sources[0])  # the same content: found, never rewritten
    assert again == results[0].digests.blake3
    token = store.stat(again).token
    assert store.put([store.stage_stream(io.BytesIO(sources[0].read_bytes()))])[0].created is False
    assert store.stat(again).token == token  # the stored version is the first one, untouched


def test_empty_object(store: ObjectStorage) -> None:
    oid = put_bytes(store, b"")
    assert oid == oid_of(b"") and store.stat(oid).size == 0 and store.read(oid, 0, 10) == b""


def _race_thread(store: ObjectStorage, data: bytes, created: list[bool]) -> None:
    created.append(store.put([store.stage_stream(io.BytesIO(data))])[0].created)


def test_write_once_under_thread_concurrency(store: ObjectStorage) -> None:
    data = os.urandom(3 << 20)
    created: list[bool] = []
    threads = [threading.Thread(target=_race_thread, args=(store, data, created)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [False] * 7 + [True]  # exactly one writer placed it
    oid = oid_of(data)
    assert list(store.list_oids()) == [oid] and store.read(oid, 0, len(data) + 1) == data


def _race_process(opener: Opener, data: bytes, out: multiprocessing.Queue[bool]) -> None:
    store = opener()  # its own store (and S3 client), opened in the child
    out.put(store.put([store.stage_stream(io.BytesIO(data))])[0].created)


def test_write_once_under_process_concurrency(store: ObjectStorage, store_opener: Opener) -> None:
    data = os.urandom(2 << 20)
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[bool] = ctx.Queue()
    procs = [ctx.Process(target=_race_process, args=(store_opener, data, out))
             for _ in range(4)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0] * 4
    assert sorted(out.get(timeout=5) for _ in procs) == [False, False, False, True]
    assert store.read(oid_of(data), 0, len(data)) == data


_SLOW_WRITER = """
import io, os, sys, time
from pathlib import Path
from zfjl.vault.objects import ObjectStore

class Slow(io.RawIOBase):
    def __init__(self):
        self.left = 1 << 30
    def readable(self):
        return True
    def read(self, n=-1):
        if self.left <= 0:
            return b""
        if self.left < (1 << 30) - (8 << 20):
            print("writing", flush=True)
            time.sleep(0.05)
        n = min(n if n > 0 else 1 << 20, self.left, 1 << 20)
        self.left -= n
        return b"x" * n

store = ObjectStore(Path(sys.argv[1]))
store.put([store.stage_stream(Slow())])
"""


@pytest.mark.parametrize("store_opener", ["local"], indirect=True)
def test_a_writer_killed_mid_write_leaves_nothing_visible(store: ObjectStorage, tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "store")],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline() == "writing\n"
    child.send_signal(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    assert not list(store.list_oids())  # no object, whole or partial
    assert store.clean_stale_temps() == 1  # its staged copy: removed by the next writer
    assert not list(store.list_oids())


_S3_SLOW_UPLOADER = """
import io, os, sys, time
from pathlib import Path
from zfjl.vault.s3store import S3ObjectStore

bucket, spool, prefix = sys.argv[1:4]
store = S3ObjectStore(bucket, Path(spool), prefix=prefix, profile="zfjl-owner",
                      multipart_threshold=5 << 20, part_size=5 << 20)
real = store._client.upload_part
def slow_part(**kw):
    real(**kw)
    print("writing", flush=True)
    time.sleep(60)
store._client.upload_part = slow_part
store.put([store.stage_stream(io.BytesIO(os.urandom(12 << 20)))])
"""


def test_an_uploader_killed_mid_upload_leaves_nothing_visible(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    """S3's form of the crash mid-write: a multipart upload killed after its first parts is no
    object (only an unfinished upload, which the store aborts when stale), and its staged copy
    in the spool is a stale temp for the next writer to remove."""
    from zfjl.vault.s3store import S3ObjectStore

    spool, prefix = tmp_path / "spool", seaweed.prefix()
    child = subprocess.Popen([sys.executable, "-c", _S3_SLOW_UPLOADER, seaweed.bucket, str(spool),
                              prefix], stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline() == "writing\n"
    child.send_signal(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    store = S3ObjectStore(seaweed.bucket, spool, prefix=prefix, profile=OWNER_PROFILE)
    assert not list(store.list_oids())
    uploads = seaweed.client().list_multipart_uploads(Bucket=seaweed.bucket, Prefix=prefix)
    assert len(uploads.get("Uploads", [])) == 1  # parts sent, never completed: not an object
    assert store.clean_stale_temps() == 1 and not list(store.list_oids())


def test_a_source_that_changes_while_copied_is_not_stored(store: ObjectStorage, tmp_path: Path) -> None:
    src = tmp_path / "growing"
    src.write_bytes(b"a" * 1000)
    fd = os.open(src, os.O_RDONLY)
    try:
        before = FileIdentity.of(os.fstat(fd))
        with open(src, "ab") as f:
            f.write(b"more")  # a camera still writing
        with pytest.raises(SourceChanged):
            store.stage(fd, before)
    finally:
        os.close(fd)
    assert not list(store.list_oids()) and store.clean_stale_temps() == 0


# -- reading ------------------------------------------------------------------------------
def test_ranged_reads(store: ObjectStorage) -> None:
    data = os.urandom(1 << 20)
    oid = put_bytes(store, data)
    assert store.read(oid, 0, 100) == data[:100]
    assert store.read(oid, 12345, 6789) == data[12345 : 12345 + 6789]
    assert store.read(oid, len(data) - 10, 100) == data[-10:]  # short at the end
    assert store.read(oid, len(data), 10) == b""
    with pytest.raises(ValueError):
        store.read(oid, -1, 10)
    with store.open(oid) as f:
        f.seek(500)
        assert f.read(10) == data[500:510]
        f.seek(-20, os.SEEK_END)
        assert f.read() == data[-20:]
        f.seek(0)
        assert f.read() == data  # whole, as doors.object_bytes reads it
    with store.local_path(oid) as path:
        assert path.read_bytes() == data  # for exiftool, typst, bagit
    st = store.stat(oid)
    assert (st.oid, st.size) == (oid, len(data)) and st.token
    assert store.digest_uncached(oid) == oid


def test_a_missing_object(store: ObjectStorage) -> None:
    missing = oid_of(b"never stored")
    assert not store.exists(missing)
    for call in (lambda: store.stat(missing), lambda: store.open(missing),
                 lambda: store.read(missing, 0, 1)):  # fmt: skip
        with pytest.raises(FileNotFoundError):
            call()


def test_listing(store: ObjectStorage) -> None:
    oids = {put_bytes(store, os.urandom(100)) for _ in range(20)}
    assert set(store.list_oids()) == oids and all(store.exists(o) for o in oids)
    assert list(store.strays()) == []  # verify's stray_file: nothing but objects here


def test_a_location_names_the_object_whether_stored_or_not(store: ObjectStorage) -> None:
    """What `show` prints and verify's object_missing names: the object's own place, which
    still names it once it is gone."""
    oid = put_bytes(store, b"evidence")
    where = store.location(oid)
    never = oid_of(b"other")  # never stored: still named (a lost object is named the same way)
    assert oid[2:] in where and never[2:] in store.location(never) and where != store.location(never)
    assert store.location(oid) == where


# -- deleting -----------------------------------------------------------------------------
def test_delete_only_with_its_token(store: ObjectStorage) -> None:
    data = os.urandom(5000)
    oid = put_bytes(store, data)
    token = store.stat(oid).token
    other = store.stat(put_bytes(store, b"another")).token
    assert store.delete(oid, other) is False and store.exists(oid)  # another object's token
    with pytest.raises(ValueError):
        store.delete(oid, "not a token")
    wait_unlocked(store, oid)
    assert store.delete(oid, token) is True and not store.exists(oid)
    assert store.delete(oid, token) is False  # gone: nothing to do, no error


def test_a_late_delete_spares_the_bytes_stored_again(store: ObjectStorage) -> None:
    """A sweep tombstones an object, a camera brings the same bytes back (a restore), then the
    sweep's delete runs: the new version survives."""
    data = os.urandom(5000)
    oid = put_bytes(store, data)
    token = store.stat(oid).token
    wait_unlocked(store, oid)
    assert store.delete(oid, token)
    put_bytes(store, data)
    assert store.stat(oid).token != token
    assert store.delete_many([(oid, token)]) == [] and store.read(oid, 0, 10) == data[:10]


# -- retention and hold ---------------------------------------------------------------------
def test_protection_is_reported_honestly(store: ObjectStorage) -> None:
    oid = put_bytes(store, b"evidence")
    until = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    store.retain(oid, until)
    store.hold(oid, True)
    p = store.protection(oid)
    assert p.read_only
    if p.worm:  # a store that enforces retention must refuse an early delete, token or not
        assert p.retain_until == until and p.legal_hold
        with pytest.raises(StorageError):
            store.delete(oid, store.stat(oid).token)
    else:  # a folder promises read-only bytes and says what it cannot promise
        assert p.retain_until is None and not p.legal_hold and p.notes
    store.hold(oid, False)
    with pytest.raises(FileNotFoundError):
        store.retain(oid_of(b"never stored"), until)


@pytest.mark.parametrize("store_opener", ["local"], indirect=True)
def test_the_local_store_reports_a_writable_object(store: ObjectStorage, tmp_path: Path) -> None:
    oid = put_bytes(store, b"evidence")
    with store.local_path(oid) as path:
        path.chmod(0o644)  # someone with the folder's rights
    assert not store.protection(oid).read_only  # verify reports it
    assert store.protection(oid).shown == "0o644"  # and what it found


@pytest.mark.parametrize("store_opener", ["local"], indirect=True)
def test_the_local_store_names_its_stray_files(store: ObjectStorage, tmp_path: Path) -> None:
    oid = put_bytes(store, b"evidence")
    root = tmp_path / "store"
    (root / "objects" / oid[:2] / "notes.txt").write_text("x")
    (root / "objects" / "README").write_text("x")
    assert sorted(store.strays()) == sorted([f"objects/{oid[:2]}/notes.txt", "objects/README"])
    assert list(store.list_oids()) == [oid]


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "../../etc/passwd", "ab" * 31, "AB" * 32, "g" * 64, "0" * 65])
def test_a_bad_oid_is_refused(store: ObjectStorage, bad: str) -> None:
    for call in (lambda: store.exists(bad), lambda: store.stat(bad), lambda: store.read(bad, 0, 1),
                 lambda: store.delete(bad, "ino:1:1")):  # fmt: skip
        with pytest.raises(ValueError):
            call()


def test_a_short_stream_is_refused_and_nothing_kept(store: ObjectStorage) -> None:
    with pytest.raises(StorageError):
        store.stage_stream(io.BytesIO(b"x" * 99), size=100)
    with pytest.raises(StorageError):
        store.stage_stream(io.BytesIO(b"x" * 101), size=100)
    assert not list(store.list_oids()) and store.clean_stale_temps() == 0


def test_a_digest_mismatch_is_refused_and_nothing_kept(store: ObjectStorage) -> None:
    with pytest.raises(StorageError):
        store.stage_stream(io.BytesIO(b"what was sent"), expect=oid_of(b"what was announced"))
    with pytest.raises(ValueError):
        store.stage_stream(io.BytesIO(b"x"), expect="not an oid")
    assert not list(store.list_oids()) and store.clean_stale_temps() == 0
    good = store.stage_stream(io.BytesIO(b"ok"), expect=oid_of(b"ok"))
    assert store.put([good])[0].digests.blake3 == oid_of(b"ok")


def test_discarded_stages_leave_nothing(store: ObjectStorage) -> None:
    pendings = [store.stage_stream(io.BytesIO(os.urandom(10))) for _ in range(3)]
    store.discard(pendings)
    assert store.put([]) == []
    assert not list(store.list_oids()) and store.clean_stale_temps() == 0


def test_the_interface_is_complete(store: ObjectStorage) -> None:
    assert isinstance(store, ObjectStorage) and store.name  # every method of the seam present


@pytest.mark.parametrize("store_opener", ["local"], indirect=True)
def test_the_local_put_pays_one_flush_per_batch(store: ObjectStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest's speed: a batch of 300 objects is one syncfs and one fsync per fan-out folder
    touched, not an fsync per file (a card of photos is hundreds of them)."""
    from zfjl.vault import objects

    pendings = [store.stage_stream(io.BytesIO(os.urandom(64))) for _ in range(300)]
    synced: list[Path] = []
    syncfs: list[Path] = []
    monkeypatch.setattr(objects, "fsync_dir", synced.append)
    real_syncfs = objects._syncfs
    monkeypatch.setattr(objects, "_syncfs", lambda folder: syncfs.append(folder) or real_syncfs(folder))
    monkeypatch.setattr(os, "fsync", lambda fd: pytest.fail("an fsync per file"))
    results = store.put(pendings)
    assert len(syncfs) == 1
    fanouts = {r.digests.blake3[:2] for r in results}
    assert len(synced) == len(set(synced)) == len(fanouts) + 1  # + objects/ for the new folders


def test_nothing_outside_the_vault_reaches_objects_by_path() -> None:
    """The seam holds: no module outside zfjl/vault/ names an object's file (a second store
    would otherwise need those modules changed too)."""
    package = Path(__file__).resolve().parent.parent / "zfjl"
    offenders = [
        f"{py.relative_to(package)}:{n}"
        for py in package.rglob("*.py")
        if py.relative_to(package).parts[0] != "vault"
        for n, line in enumerate(py.read_text("utf-8").splitlines(), 1)
        if any(s in line for s in ("path_for(", "iter_oids(", '"objects/', "objects.tmp"))
    ]
    assert offenders == []


def test_nothing_outside_the_vault_speaks_sql() -> None:
    """Issue 24's grep: no module outside zfjl/vault/ holds a connection or runs SQL; the
    catalog's answers live in zfjl/vault/queries/, so a second catalog backend needs no other
    module changed."""
    package = Path(__file__).resolve().parent.parent / "zfjl"
    pattern = re.compile(r"path_for|\.conn\b|execute\(")
    offenders = [
        f"{py.relative_to(package)}:{n}"
        for py in package.rglob("*.py")
        if py.relative_to(package).parts[0] != "vault"
        for n, line in enumerate(py.read_text("utf-8").splitlines(), 1)
        if pattern.search(line) or re.match(r"\s*(import|from) (sqlite3|sqlite_utils)\b", line)
    ]
    assert offenders == []


def test_the_vault_itself_reaches_objects_through_the_seam() -> None:
    """Inside zfjl/vault/ too, only the local store (objects.py) names an object's file:
    verify, seal and show work unchanged on a second store."""
    vault = Path(__file__).resolve().parent.parent / "zfjl" / "vault"
    offenders = [
        f"{py.name}:{n}"
        for py in vault.rglob("*.py")
        if py.name != "objects.py"
        for n, line in enumerate(py.read_text("utf-8").splitlines(), 1)
        if any(s in line for s in ("path_for(", "iter_oids("))
    ]
    assert offenders == []
