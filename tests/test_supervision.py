"""Devices, spot checks and the supervision report (arts. 48-54)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from zfjl import devices, spotcheck
from zfjl.errors import NotFoundError, UsageError
from zfjl.ingest import ingest
from zfjl.render import report_pdf, spotcheck_ledger_pdf, vault_template_dirs
from zfjl.reports import build_report, to_csv, to_html
from zfjl.reports.charts import charts
from zfjl.sample import UNITS, make_bureau_month
from zfjl.vault import Vault, events

from .conftest import RECORDED, TZ, fixed_clock, zfjl_run
from .doors import catalog_column, catalog_rows, journal_events


# -- devices -----------------------------------------------------------------------------------
def test_a_recording_made_by_a_device_in_fault_is_flagged_at_ingest(
    vault: Vault, dump: Path
) -> None:
    devices.add_device(vault, "DSJ01", model="DSJ-V9", serial="SN1", unit="第一中队",
                       assigned_to="007788", since="2024-01-01")  # fmt: skip
    devices.log_event(
        vault, "DSJ01", "fault", "无法对焦", at=(RECORDED - dt.timedelta(hours=1)).isoformat()
    )
    report = ingest(vault, dump)
    flagged = {f.path for f in report.files if any(w["code"] == "device_fault" for w in f.warnings)}
    dsj01 = {f.path for f in report.files if f.status == "new" and "DSJ01" in f.path}
    assert flagged and flagged == dsj01 - {p for p in dsj01 if "EMPTY" in p}
    assert report.summary()["device_fault"] == len(flagged)
    # DSJ01's file names carry no officer: the assignment says who carried it.
    officers = set(catalog_column(vault, "recordings", "officer", device="DSJ01"))
    assert officers == {"007788"}


def test_a_repaired_device_is_no_longer_flagged_and_repair_needs_the_service(
    vault: Vault, dump: Path
) -> None:
    devices.add_device(vault, "DSJ01", model=None, serial=None, unit="第一中队", assigned_to=None,
                       since="2024-01-01")  # fmt: skip
    devices.log_event(vault, "DSJ01", "fault", "电池鼓包", at="2024-04-01")
    with pytest.raises(UsageError, match="维修单位"):
        devices.log_event(vault, "DSJ01", "repair", None)
    devices.log_event(vault, "DSJ01", "repair", "厂家售后服务站", at="2024-04-20")
    report = ingest(vault, dump)
    assert report.summary()["device_fault"] == 0
    devices.log_event(vault, "DSJ01", "retire", "报废")
    with pytest.raises(UsageError, match="已报废"):
        devices.log_event(vault, "DSJ01", "check", None)
    assert devices.get_device(vault, "DSJ01")["status"] == "retired"


def test_ingest_registers_unknown_devices_as_unregistered_and_says_so(
    tmp_path: Path, dump: Path
) -> None:
    root = tmp_path / "v"
    zfjl_run("--vault", str(root), "init", "--bureau", "株洲市城市管理和综合执法局", check=True)
    zfjl_run("--vault", str(root), "device", "add", "DSJ01", "--unit", "第一中队", check=True)
    proc = zfjl_run("--vault", str(root), "ingest", str(dump), "--json")
    summary = json.loads(proc.stdout)["summary"]
    assert summary["unregistered_devices"] == ["DSJ02", "DSJ03"]
    human = zfjl_run("--vault", str(root), "ingest", str(dump))
    assert "未登记的记录仪：DSJ02、DSJ03" in human.stdout
    listed = json.loads(zfjl_run("--vault", str(root), "device", "ls", "--json", check=True).stdout)
    assert {d["id"]: d["status"] for d in listed} == {
        "DSJ01": "active", "DSJ02": "unregistered", "DSJ03": "unregistered"}  # fmt: skip
    zfjl_run("--vault", str(root), "device", "add", "DSJ02", "--unit", "第二中队", check=True)
    again = json.loads(zfjl_run("--vault", str(root), "ingest", str(dump), "--json").stdout)
    assert again["summary"]["unregistered_devices"] == ["DSJ03"]
    twice = zfjl_run("--vault", str(root), "device", "add", "DSJ01")
    assert twice.returncode == 2 and "已登记" in twice.stderr
    zfjl_run("--vault", str(root), "device", "assign", "DSJ01", "007788", check=True)
    zfjl_run("--vault", str(root), "device", "log", "DSJ01", "--event", "check", "--note", "电池正常",
             check=True)  # fmt: skip
    shown = json.loads(zfjl_run("--vault", str(root), "device", "show", "DSJ01", "--json",
                                check=True).stdout)  # fmt: skip
    assert shown["officer"] == "007788" and shown["log"][0]["event"] == "check"
    assert shown["recordings"] == 4 and shown["status"] == "active"
    human = zfjl_run("--vault", str(root), "device", "show", "DSJ01", check=True).stdout
    assert "例行检查" in human and "007788" in human


def test_assignments_are_intervals(vault: Vault) -> None:
    devices.add_device(vault, "DSJ05", model=None, serial=None, unit="第一中队",
                       assigned_to="A1", since="2024-01-01")  # fmt: skip
    devices.assign(vault, "DSJ05", "B2", since="2024-03-01")
    book = devices.DeviceBook.load(vault)
    at = lambda s: dt.datetime.fromisoformat(s).replace(tzinfo=TZ)  # noqa: E731
    assert book.officer_at("DSJ05", at("2023-12-31T23:00")) is None
    assert book.officer_at("DSJ05", at("2024-02-10T10:00")) == "A1"
    assert book.officer_at("DSJ05", at("2024-03-01T00:00")) == "B2"
    with pytest.raises(UsageError, match="--event"):
        devices.log_event(vault, "DSJ05", "smash", None)
    with pytest.raises(NotFoundError):
        devices.assign(vault, "DSJ99", "B2")


# -- a generated month -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def month_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    root = tmp_path_factory.mktemp("bureau") / "vault"
    v = Vault.create(root, clock=fixed_clock(dt.datetime(2024, 6, 20, 9, tzinfo=TZ)))
    make_bureau_month(v, "2024-05", cameras=30, recordings=3000, cases=120, seed=7)
    # A few recordings of the months around it, which no May figure may count.
    make_bureau_month_edges(v)
    yield v
    v.close()


def make_bureau_month_edges(v: Vault) -> None:
    for oid, when in (
        ("e" * 64, "2024-04-30T23:59:59+08:00"),
        ("f" * 64, "2024-06-01T00:00:00+08:00"),
    ):
        v.record(events.ObjectAdd(object={"id": oid, "sha256": oid, "size": 1}, recording={
            "kind": "video", "device": "DSJ001", "officer": "10000", "recorded_at": when,
            "duration": 100.0, "late": True, "clock_skew": 1, "original_name": "edge.mp4"}), oid)  # fmt: skip


def _sum(values: Iterable[Any]) -> Any:
    """SQL's SUM: None when every value is NULL."""
    present = [x for x in values if x is not None]
    return sum(present) if present else None


def test_report_figures_match_independent_counts(month_vault: Vault) -> None:
    """The report's figures, counted again here from the catalog's rows by plain Python."""
    v = month_vault
    r = build_report(v, "2024-05")
    lo, hi = "2024-05-01T00:00:00+08:00", "2024-06-01T00:00:00+08:00"
    in_may = [x for x in catalog_rows(v, "recordings")
              if x["recorded_at"] is not None and lo <= x["recorded_at"] < hi]  # fmt: skip
    total, late, skew = (len(in_may), _sum(x["late"] for x in in_may),
                         _sum(x["clock_skew"] for x in in_may))  # fmt: skip
    assert (r["totals"]["recordings"], r["totals"]["late_uploads"], r["totals"]["clock_skew"]) == (
        total,
        late,
        skew,
    )
    assert total == 3000
    unit_of = {d["id"]: d["unit"] for d in catalog_rows(v, "devices")}
    units: dict[str, list[float]] = {}
    for x in in_may:
        if x["device"] in unit_of:  # an inner join on the registry
            seconds = x["duration"] if x["kind"] in ("video", "audio") else 0
            units.setdefault(unit_of[x["device"]], []).append(seconds)
    for unit, durations in units.items():
        row = next(u for u in r["units"] if u["unit"] == unit)
        assert (row["recordings"], row["hours"]) == (len(durations), round(_sum(durations) / 3600.0, 2))
    # Recordings that name no officer are the officer's the camera was assigned to (issue 13).
    assignments = catalog_rows(v, "device_assignments")
    per_officer: dict[str, int] = {}
    for x in in_may:
        for a in [a for a in assignments if a["device"] == x["device"]] or [None]:
            officer = next((o for o in (x["officer"], a and a["officer"]) if o is not None), "未知")
            per_officer[officer] = per_officer.get(officer, 0) + 1
    assert "未知" not in per_officer
    assert {o["officer"]: o["recordings"] for o in r["officers"]} == per_officer
    per_device_late = {d: _sum(x["late"] for x in in_may if x["device"] == d)
                       for d in {x["device"] for x in in_may}}  # fmt: skip
    assert {d["device"]: d["late_uploads"] for d in r["devices"]} == per_device_late
    faulty = len({e["device"] for e in catalog_rows(v, "device_log", event="fault")})
    assert r["totals"]["devices_in_fault"] == faulty == 1
    cases = catalog_rows(v, "cases")
    opened = sum(1 for c in cases if (c["opened_at"] or "")[:7] == "2024-05")
    assert r["totals"]["cases_opened"] == opened == 120
    assert r["totals"]["cases_open"] == sum(1 for c in cases if c["status"] == "办理中")
    days: dict[str, int] = {}
    for x in in_may:
        days[x["recorded_at"][:10]] = days.get(x["recorded_at"][:10], 0) + 1
    assert {d["day"]: d["recordings"] for d in r["per_day"]} == days and len(days) == 31
    # Every synthetic case lacks its documents: each one violates, article by article.
    assert r["totals"]["cases_with_violations"] == 120
    assert max(r["violations_by_article"].values()) == 120


def test_report_for_one_unit_and_csv_carry_the_same_figures(month_vault: Vault) -> None:
    r = build_report(month_vault, "2024-05", UNITS[0])
    assert [u["unit"] for u in r["units"]] == [UNITS[0]]
    text = to_csv(r)
    assert text.startswith("\ufeff")  # the BOM Excel and WPS need to read UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    total = next(x for x in rows if x["类别"] == "合计" and x["指标"] == "录制件数")
    assert int(total["数值"]) == r["totals"]["recordings"] == r["units"][0]["recordings"]
    assert {x["对象"] for x in rows if x["类别"] == "记录仪"} == {
        d["device"] for d in r["devices"]
    }


def test_report_html_has_readable_charts_and_the_pdf_shows_chinese(
    month_vault: Vault, tmp_path: Path
) -> None:
    r = build_report(month_vault, "2024-05")
    html = to_html(r)
    assert html.count("<svg") == 3 and "每日录制时长" not in html.split("<svg")[0][-200:]
    assert "各单位" in html and UNITS[0] in html
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report_pdf(r, charts(r), vault_template_dirs(month_vault),
                               bureau=month_vault.config.bureau))  # fmt: skip
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "执法记录使用情况通报" in text and UNITS[0] in text and "各执法人员" in text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert any("CJK" in line for line in rows) and all(" yes " in line for line in rows)


# -- spot checks -------------------------------------------------------------------------------
def test_a_draw_with_the_same_seed_draws_the_same_items(month_vault: Vault) -> None:
    a = spotcheck.draw(month_vault, UNITS[1], "2024-05", 5, seed="2024-05-抽查")
    b = spotcheck.draw(month_vault, UNITS[1], "2024-05", 5, seed="2024-05-抽查")
    c = spotcheck.draw(month_vault, UNITS[1], "2024-05", 5, seed="another")
    ids = lambda d: [i["id"] for i in d["items"]]  # noqa: E731
    assert ids(a) == ids(b) != ids(c)
    assert len(ids(a)) == 10  # five recordings and five case files
    assert a["draw"] != b["draw"] and a["population"]["cases"] == 12
    # Anyone can redo it: rank by SHA-256("seed:id"), lowest first.
    recs, _ = spotcheck.population(month_vault, UNITS[1], "2024-05")
    import hashlib

    expected = sorted(recs, key=lambda i: hashlib.sha256(f"2024-05-抽查:{i}".encode()).hexdigest())[
        :5
    ]
    assert ids(a)[:5] == expected
    seeded = journal_events(month_vault, "spotcheck.draw")[-1].data
    assert seeded["seed"] == "another"


def test_results_are_recorded_and_the_ledger_lists_them(month_vault: Vault, tmp_path: Path) -> None:
    d = spotcheck.draw(month_vault, UNITS[2], "2024-05", 2, seed="s")
    rec = next(i for i in d["items"] if i["kind"] == "recording")
    case = next(i for i in d["items"] if i["kind"] == "case")
    with pytest.raises(UsageError, match="--fail"):
        spotcheck.record(month_vault, rec["id"][:10], "fail", draw_id=d["draw"])
    with pytest.raises(UsageError, match="未知检查项"):
        spotcheck.record(month_vault, rec["id"][:10], "fail", draw_id=d["draw"], failed=["hair"])
    spotcheck.record(month_vault, rec["id"][:10], "不合格", draw_id=d["draw"], failed=["notice", "civility"],
                     note="未告知录音录像")  # fmt: skip
    spotcheck.record(month_vault, case["id"], "pass", draw_id=d["draw"])
    rows = [r for r in spotcheck.ledger(month_vault, UNITS[2], "2024-05") if r["draw"] == d["draw"]]
    by_item = {r["item"]: r for r in rows}
    assert (
        by_item[rec["id"]]["result_text"] == "不合格"
        and "第五十条" in by_item[rec["id"]]["failed_text"]
    )
    assert by_item[case["id"]]["result_text"] == "合格"
    assert sum(1 for r in rows if r["result"] is None) == len(rows) - 2
    report = build_report(month_vault, "2024-05", UNITS[2])
    assert report["units"][0]["spotchecks"]["fail"] >= 1
    pdf = tmp_path / "台帐.pdf"
    pdf.write_bytes(spotcheck_ledger_pdf(rows, vault_template_dirs(month_vault),
                                         bureau=month_vault.config.bureau, unit=UNITS[2],
                                         period="2024-05", printed_at=month_vault.now_iso()))  # fmt: skip
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "抽查检查台帐" in text and "不合格" in text


def test_cli_report_and_spotcheck(month_vault: Vault, tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(month_vault.root)}
    for ext in ("html", "pdf", "csv"):
        out = tmp_path / f"report.{ext}"
        zfjl_run("report", "--period", "2024-05", "-o", str(out), env=env, check=True)
        assert out.stat().st_size > 1000
    as_json = json.loads(
        zfjl_run("report", "--period", "2024-05", "--json", env=env, check=True).stdout
    )
    assert as_json["totals"]["recordings"] == 3000
    bad = zfjl_run("report", "--period", "2024-13", env=env)
    assert bad.returncode == 2 and "月份" in bad.stderr
    first = json.loads(zfjl_run("spotcheck", "draw", "--unit", UNITS[3], "--period", "2024-05",
                                "--n", "3", "--seed", "42", "--json", env=env, check=True).stdout)  # fmt: skip
    second = json.loads(zfjl_run("spotcheck", "draw", "--unit", UNITS[3], "--period", "2024-05",
                                 "--n", "3", "--seed", "42", "--json", env=env, check=True).stdout)  # fmt: skip
    assert [i["id"] for i in first["items"]] == [i["id"] for i in second["items"]]
    item = first["items"][0]["id"]
    zfjl_run("spotcheck", "record", item[:12], "--result", "minor", "--fail", "appearance",
             "--draw", first["draw"], env=env, check=True)  # fmt: skip
    ledger = zfjl_run("spotcheck", "ledger", "--unit", UNITS[3], "--json", env=env, check=True)
    assert any(r["result"] == "minor" for r in json.loads(ledger.stdout))
    none = zfjl_run("spotcheck", "draw", "--unit", "不存在的中队", "--period", "2024-05", env=env)
    assert none.returncode == 4 and "没有可抽查" in none.stderr
