"""The officer of a recording comes from the registry when its file name does not say
(issue 13): ls --officer, show and the report agree; a later reassignment leaves earlier
footage alone; an unregistered camera's footage has no officer, and says so."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from .conftest import zfjl_run


def _setup(tmp_path: Path, dump: Path) -> dict[str, str]:
    root = tmp_path / "v"
    env = {"ZFJL_VAULT": str(root)}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    # Ingested first, registered afterwards (back-dated): the registry still decides.
    zfjl_run("ingest", str(dump), env=env)
    zfjl_run("device", "add", "DSJ01", "--unit", "第一中队", "--assigned-to", "007788",
             "--since", "2024-01-01", env=env, check=True)  # fmt: skip
    zfjl_run("device", "add", "DSJ09", "--unit", "第一中队", "--assigned-to", "009900",
             "--since", "2024-01-01", env=env, check=True)  # fmt: skip
    zfjl_run("device", "log", "DSJ09", "--event", "fault", "--note", "无法开机",
             "--at", "2024-05-10", env=env, check=True)  # fmt: skip
    # Reassigned after the footage: the footage stays 007788's.
    zfjl_run("device", "assign", "DSJ01", "012399", "--since", "2024-05-20", env=env, check=True)
    return env


def test_officer_is_derived_from_the_registry_everywhere(tmp_path: Path, dump: Path) -> None:
    env = _setup(tmp_path, dump)
    rows = json.loads(zfjl_run("ls", "--officer", "007788", "--json", env=env, check=True).stdout)
    assert rows and {r["device"] for r in rows} == {"DSJ01"}
    assert {r["officer_source"] for r in rows} == {"assignment"}
    assert json.loads(zfjl_run("ls", "--officer", "012399", "--json", env=env).stdout) == []
    # File names that name the officer keep him, whatever the registry says.
    named = json.loads(zfjl_run("ls", "--officer", "012345", "--json", env=env, check=True).stdout)
    assert {r["device"] for r in named} == {"DSJ02", "DSJ03"}
    assert {r["officer_source"] for r in named} == {"stated"}
    shown = json.loads(zfjl_run("show", rows[0]["id"][:12], "--json", env=env, check=True).stdout)
    assert shown["officer"] == "007788" and shown["officer_source_text"] == "按配发登记"
    human = zfjl_run("show", rows[0]["id"][:12], env=env, check=True).stdout
    assert "按配发登记" in human
    report = json.loads(zfjl_run("report", "--period", "2024-05", "--json", env=env,
                                 check=True).stdout)  # fmt: skip
    officers = {o["officer"]: o["recordings"] for o in report["officers"]}
    assert officers.get("007788") == len(rows) and officers.get("012345") == 2
    devs = {d["device"]: d for d in report["devices"]}
    assert devs["DSJ09"]["recordings"] == 0 and "无法开机" in devs["DSJ09"]["fault"]
    one = json.loads(zfjl_run("report", "--period", "2024-05", "--unit", "第一中队", "--json",
                              env=env, check=True).stdout)  # fmt: skip
    assert {d["device"] for d in one["devices"]} == {"DSJ01", "DSJ09"}


def test_unknown_unit_is_refused_and_the_number_is_printed(tmp_path: Path, dump: Path) -> None:
    env = _setup(tmp_path, dump)
    bad = zfjl_run("report", "--period", "2024-05", "--unit", "不存在", env=env)
    assert bad.returncode == 2 and "已知单位：第一中队" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    for ext in ("html", "pdf"):
        out = tmp_path / f"r.{ext}"
        zfjl_run("report", "--period", "2024-05", "--number", "某城管通〔2024〕9号", "-o",
                 str(out), env=env, check=True)  # fmt: skip
        text = (out.read_text(encoding="utf-8") if ext == "html" else subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout)  # fmt: skip
        text = re.sub(r"\s+", "", text)
        assert "某城管通〔2024〕9号" in text and "待办事项" in text and "DSJ09" in text


def test_the_spot_check_ledger_and_the_sweep_plan_name_the_derived_officer(
    tmp_path: Path, dump: Path
) -> None:
    env = _setup(tmp_path, dump)
    zfjl_run("spotcheck", "draw", "--unit", "第一中队", "--period", "2024-05", "--n", "2",
             "--seed", "t", env=env, check=True)  # fmt: skip
    ledger = json.loads(zfjl_run("spotcheck", "ledger", "--json", env=env, check=True).stdout)
    drawn = [r for r in ledger if r["item_kind"] == "recording"]
    assert drawn and {r["officer"] for r in drawn} == {"007788"}
    plan = json.loads(zfjl_run("sweep", "--as-of", "2030-01-01", "--json", env=env,
                               check=True).stdout)  # fmt: skip
    items = [i for i in plan["due"] if i["device"] == "DSJ01"]
    assert items and {i["officer"] for i in items} == {"007788"}
