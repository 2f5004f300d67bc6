"""Issue 25's "done when": the demo's whole flow (Makefile `demo`) through the CLI, once on a
bureau vault — catalog on PostgreSQL, objects in a SeaweedFS bucket with Object Lock — and
once on a plain local vault, with the same results; and `zfjl sync` on a vault of two
stations shipping each station's own objects only."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.seaweed import STATION_PROFILE, Seaweed
from zfjl.vault import Vault
from zfjl.vault.bureau import binding, unshipped
from zfjl.vault.stations import held_elsewhere
from zfjl.vault.verify import verify

from .conftest import zfjl_run
from .postgres import PgDatabase

SAMPLES = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"
BUREAU = "株洲市城市管理和综合执法局"
CASE = "CASE-2024-045"
APPROVAL = "株城管复〔2024〕7号"
# What a bureau vault's custody log holds besides a local one's: the shipment and the locks.
BUREAU_ONLY = {"object.shipped", "object.store_lock"}


@pytest.fixture
def station_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The station's S3 credential, from the AWS chain as a station's service has it."""
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)


def _ok(*args: str) -> subprocess.CompletedProcess[str]:
    proc = zfjl_run(*args)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc




def _json(*args: str) -> Any:
    return json.loads(_ok(*args, "--json").stdout)


def demo_flow(root: Path, work: Path, dump: Path, case_dump: Path, *, bureau: bool) -> dict[str, Any]:
    """The Makefile's `demo`, step by step, on the vault at `root` (made already); what it
    returns must not depend on where the catalog and the objects are."""
    v = ("--vault", str(root))
    out: dict[str, Any] = {}
    first = _json(*v, "ingest", str(dump))
    again = _json(*v, "ingest", str(dump))  # the same card again: nothing new
    out["ingest"] = [{k: v for k, v in r["summary"].items() if "seconds" not in k and k != "mb_per_s"}
                     for r in (first, again)]  # fmt: skip
    _ok(*v, "ingest", str(case_dump))
    if bureau:
        shipped = _json(*v, "sync")
        assert shipped["failed"] == {} and shipped["shipped"] > 0
    for name in ("penalty", "demolition", "licensing"):
        _ok(*v, "case", "import", str(SAMPLES / f"{name}.yaml"))
    out["cases"] = sorted(c["id"] for c in _json(*v, "case", "ls"))
    one = zfjl_run(*v, "check", CASE, "--as-of", "2024-09-02", "--json")
    every = zfjl_run(*v, "check", "--all", "--archived", "--as-of", "2024-09-02", "--json")
    out["check"] = (one.returncode, json.loads(one.stdout))
    out["check_all"] = (every.returncode, json.loads(every.stdout))
    _ok(*v, "device", "add", "DSJ02", "--unit", "天元大队", "--assigned-to", "012345",
        "--since", "2024-01-01")  # fmt: skip
    report = _json(*v, "report", "--period", "2024-06")
    report.pop("generated_at", None)
    out["report"] = report
    _ok(*v, "report", "--period", "2024-06", "-o", str(work / "通报-2024-06.pdf"))
    rendered = _json(*v, "render", CASE, "-o", str(work / "documents"))
    out["render"] = sorted(Path(p).name for p in _paths(rendered))
    bag = work / f"{CASE}-court"
    _ok(*v, "bundle", "make", CASE, "--purpose", "court", "--approval", APPROVAL, "-o", str(bag))
    out["bundle_files"] = sorted(line.split(None, 1)[1] for line in
                                 (bag / "manifest-sha256.txt").read_text("utf-8").splitlines())  # fmt: skip
    out["bundle_verify"] = _json(*v, "bundle", "verify", str(bag)).get("ok")
    hold = _json(*v, "hold", "add", CASE, "--reason", "dispute", "--note", "当事人申请行政复议")
    next_year = (dt.date.today() + dt.timedelta(days=366)).isoformat()
    sweep = _json(*v, "sweep", "--as-of", next_year)
    out["sweep"] = (sorted(i["id"] for i in sweep["due"]), sweep["kept"], sweep["due_bytes"])
    checkpoint = _ok(*v, "checkpoint", "make").stdout
    (work / "checkpoint.txt").write_text(checkpoint, "utf-8")
    recording = _json(*v, "ls", "--limit", "1")[0]["id"]
    refused = zfjl_run(*v, "view", recording)
    out["view_refused"] = refused.returncode
    _ok(*v, "grant", "add", getpass.getuser(), "--recording", recording, "--approved-by", "王局长",
        "--approval-no", "局批〔2024〕8号", "--until", next_year)  # fmt: skip
    out["view"] = _json(*v, "view", recording).get("id", recording)[:12]
    log = _json(*v, "log", CASE)
    kinds = {e.get("kind") or e.get("event") for e in _items(log)} - {None}
    out["log_kinds"] = sorted(kinds - BUREAU_ONLY)
    out["log_store"] = sorted(kinds & BUREAU_ONLY)
    out["checkpoint_verify"] = _ok(*v, "checkpoint", "verify", str(work / "checkpoint.txt")).returncode
    hold_id = hold.get("id") or hold.get("hold")
    _ok(*v, "hold", "release", str(hold_id), "--approval-no", "城管〔2024〕9号")
    checked = zfjl_run(*v, "verify", "--json")
    verified = json.loads(checked.stdout)
    out["verify_exit"] = checked.returncode
    out["verify"] = verified.get("ok")
    out["verify_errors"] = [f for f in verified.get("findings", []) if f.get("severity") == "error"]
    return out


def _paths(rendered: Any) -> list[str]:
    items = rendered if isinstance(rendered, list) else rendered.get("documents", rendered.get("files", []))
    return [i if isinstance(i, str) else i.get("path") or i.get("file") for i in items]


def _items(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    for key in ("items", "events", "entries", "candidates"):
        if isinstance(doc.get(key), list):
            return list(doc[key])
    return []


def test_the_demo_flow_on_seaweedfs_and_postgresql_matches_a_local_vault(
    tmp_path: Path, seaweed: Seaweed, pg_empty_database: PgDatabase, station_profile: None,
    dump: Path, case_dump: Path,
) -> None:  # fmt: skip
    db = pg_empty_database
    bureau_root = tmp_path / "bureau"
    _ok("--vault", str(bureau_root), "init", "--bureau", BUREAU, "--catalog", db.station_url,
        "--catalog-owner", db.owner_url, "--store", f"s3://{seaweed.bucket}/{seaweed.prefix()}")  # fmt: skip
    local_root = tmp_path / "local"
    _ok("--vault", str(local_root), "init", "--bureau", BUREAU)
    (tmp_path / "w-bureau").mkdir()
    (tmp_path / "w-local").mkdir()
    on_bureau = demo_flow(bureau_root, tmp_path / "w-bureau", dump, case_dump, bureau=True)
    on_local = demo_flow(local_root, tmp_path / "w-local", dump, case_dump, bureau=False)
    assert on_bureau.pop("view") == on_local.pop("view")
    # The case's footage: shipped, then locked for the case, in its custody log.
    assert on_bureau.pop("log_store") == sorted(BUREAU_ONLY) and on_local.pop("log_store") == []
    assert on_bureau == on_local
    # The demo's own expectations hold on both: art. 37 violated (exit 11), the card's second
    # ingest adds nothing, a view without a grant refused, patrol footage due a year on.
    assert on_bureau["check"][0] == 11 and on_bureau["check"][1]["summary"]["fail"] >= 1
    assert on_bureau["ingest"][1]["new"] == 0 and on_bureau["ingest"][0]["new"] > 0
    assert on_bureau["view_refused"] != 0 and on_bureau["sweep"][0]
    assert on_bureau["verify"] is True and on_bureau["verify_exit"] == 0
    assert on_bureau["bundle_verify"] is True and on_bureau["checkpoint_verify"] == 0
    assert "data/case.json" in on_bureau["bundle_files"] and on_bureau["report"]["totals"]
    with Vault.open(bureau_root) as v:  # every object in the bucket, none left behind
        assert unshipped(v) == [] and not held_elsewhere(v)
        assert v.conn.execute("SELECT COUNT(*) FROM shipments").fetchone()[0] == \
            v.conn.execute("SELECT COUNT(*) FROM objects").fetchone()[0]  # fmt: skip


def test_each_station_ships_its_own_objects_into_the_one_bucket(
    tmp_path: Path, seaweed: Seaweed, pg_database: PgDatabase, station_profile: None,
    dump: Path, case_dump: Path,
) -> None:  # fmt: skip
    """Two stations, one catalog, one bucket: `zfjl sync` on each ships what its own folder
    holds, counts the other's pending objects as the other's (not as missing), and `verify`
    from each then passes with every object in the bucket once."""
    db, store = pg_database, f"s3://{seaweed.bucket}/{seaweed.prefix()}"
    bureau, station = tmp_path / "bureau", tmp_path / "荷塘中队"
    _ok("--vault", str(bureau), "init", "--bureau", BUREAU, "--catalog", db.station_url,
        "--catalog-owner", db.owner_url, "--store", store)  # fmt: skip
    # A station joins the vault, and with it the bureau's one binding (registered once).
    joined = _json("--vault", str(station), "init", "--catalog", db.station_url,
                   "--station", "荷塘中队")  # fmt: skip
    assert joined["station"] == "荷塘中队"
    with Vault.open(station) as v:
        bound = binding(v)
        assert bound is not None and str(bound.url) == store.rstrip("/")
    _ok("--vault", str(bureau), "ingest", str(dump))
    _ok("--vault", str(station), "ingest", str(case_dump))
    counts = {bureau: sum(1 for f in dump.rglob("*") if f.is_file()),
              station: sum(1 for f in case_dump.rglob("*") if f.is_file())}  # fmt: skip
    first = _json("--vault", str(bureau), "sync")
    assert first["failed"] == {} and first["shipped"] == counts[bureau]
    assert first["pending_elsewhere"] == counts[station]
    with Vault.open(bureau) as v:  # before the station ships: its objects are its own to ship
        assert unshipped(v) == [] and len(unshipped(v, everywhere=True)) == counts[station]
    second = _json("--vault", str(station), "sync")
    assert second["failed"] == {} and second["shipped"] == counts[station]
    assert second["pending_elsewhere"] == 0
    for root in (bureau, station):
        checked = zfjl_run("--vault", str(root), "verify", "--json")
        report = json.loads(checked.stdout)
        assert checked.returncode == 0 and report["ok"], report["findings"]
        assert not [f for f in report["findings"] if f["code"].startswith("store_")]
    with Vault.open(station) as v:
        shippers = dict(v.conn.execute(
            "SELECT subject, station FROM journal WHERE kind = 'object.shipped'").fetchall())  # fmt: skip
        holders = dict(v.conn.execute(
            "SELECT subject, station FROM journal WHERE kind = 'object.add'").fetchall())  # fmt: skip
    assert shippers == holders and len(shippers) == sum(counts.values())
    keys = seaweed.client().list_object_versions(Bucket=seaweed.bucket,
                                                 Prefix=store.split("/", 3)[3])  # fmt: skip
    assert len(keys.get("Versions", [])) == sum(counts.values())


def test_the_service_ships_in_the_background(
    tmp_path: Path, seaweed: Seaweed, station_profile: None, dump: Path
) -> None:
    """`zfjl serve`'s background shipper (a forked child, as the sealer) ships what the
    station holds unshipped; with nothing pending, or no store, it asks the bucket nothing."""
    import os
    import socket

    from zfjl.service.server import _start_shipper
    from zfjl.vault.bureau import ship_pending

    root = tmp_path / "station"
    _ok("--vault", str(root), "init", "--bureau", BUREAU, "--store",
        f"s3://{seaweed.bucket}/{seaweed.prefix()}")  # fmt: skip
    _ok("--vault", str(root), "ingest", str(dump))
    with Vault.open(root) as v:
        pending = len(unshipped(v))
    assert pending > 0
    with socket.socket(socket.AF_UNIX) as listening:  # what the child closes: the service's
        pid = _start_shipper(root, listening)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with Vault.open(root) as v:
        assert unshipped(v) == []
        assert v.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'object.shipped'"
                              ).fetchone()[0] == pending  # fmt: skip
        assert ship_pending(v) is None  # nothing pending: no sync at all
        report = verify(v)
        assert report.ok, [f.as_dict() for f in report.findings]
    local = tmp_path / "local"
    _ok("--vault", str(local), "init", "--bureau", BUREAU)
    with Vault.open(local) as v:
        assert ship_pending(v) is None
