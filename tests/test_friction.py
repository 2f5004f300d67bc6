"""Inputs once accepted silently or crashing: refused with one line."""

from __future__ import annotations

from pathlib import Path

from zfjl.vault import Vault

from .conftest import zfjl_run
from .doors import catalog_rows


def test_init_without_bureau_off_a_terminal_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    run = zfjl_run("--vault", str(tmp_path / "v"), "init")
    assert run.returncode == 2 and "--bureau" in run.stderr
    assert not (tmp_path / "v").exists()


def test_sample_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "card").mkdir()
    (tmp_path / "card" / "mine.txt").write_text("x")
    run = zfjl_run("sample", str(tmp_path / "card"))
    assert run.returncode == 6 and "不是空目录" in run.stderr
    assert [p.name for p in (tmp_path / "card").iterdir()] == ["mine.txt"]


def test_ls_from_in_every_form_lists_the_same_rows(case_vault: object) -> None:
    import json

    root = str(case_vault.root)  # type: ignore[attr-defined]
    case_vault.close()  # type: ignore[attr-defined]

    def ids(*opts: str) -> list[str]:
        run = zfjl_run("--vault", root, "ls", "--json", *opts, check=True)
        return [r["id"] for r in json.loads(run.stdout)]

    every = ids()
    rows = json.loads(zfjl_run("--vault", root, "ls", "--json", check=True).stdout)
    first = rows[0]["recorded_at"][:10]
    y, m, d = first.split("-")
    forms = [first, f"{y}/{int(m)}/{int(d)}", f"{y}-{int(m)}-{int(d)}", f"{y}{m}{d}"]
    assert all(ids("--from", f) == every for f in forms)
    assert ids("--to", first) and ids("--from", first, "--to", first) == ids("--to", first)
    for bad in ("junk", "2024-13-45", ""):
        run = zfjl_run("--vault", root, "ls", "--from", bad)
        assert run.returncode == 2 and "--from" in run.stderr


def test_a_grant_for_an_empty_user_is_refused(sample_cases_vault: object) -> None:
    root = str(sample_cases_vault.root)  # type: ignore[attr-defined]
    sample_cases_vault.close()  # type: ignore[attr-defined]
    run = zfjl_run("--vault", root, "grant", "add", "", "--case", "CASE-2024-031",
                   "--approved-by", "王局长", "--approval-no", "局批1", "--until", "2099-01-01")  # fmt: skip
    assert run.returncode == 2 and "用户" in run.stderr


def test_case_doc_with_a_bare_date_is_accepted(sample_cases_vault: object, tmp_path: Path) -> None:
    root = str(sample_cases_vault.root)  # type: ignore[attr-defined]
    sample_cases_vault.close()  # type: ignore[attr-defined]
    doc = tmp_path / "doc.yaml"
    doc.write_text("id: d-extra\ntype: 立案审批表\ndate: 2024-06-02\n", encoding="utf-8")
    run = zfjl_run("--vault", root, "case", "open", "C-X", "--kind", "处罚", "--cause", "占道",
                   "--party", "张三", "--origin", "依职权", "--opened-at", "2024/6/1")  # fmt: skip
    assert run.returncode == 0, run.stderr
    run = zfjl_run("--vault", root, "case", "doc", "C-X", str(doc))
    assert run.returncode in (0, 4) and "内部错误" not in run.stderr, run.stderr
    doc.write_text("- not a document\n", encoding="utf-8")
    run = zfjl_run("--vault", root, "case", "doc", "C-X", str(doc))
    assert run.returncode == 4 and "文书" in run.stderr


def test_ingest_lists_a_few_files_per_kind_of_warning_and_counts_the_rest(
    vault: Vault, tmp_path: Path
) -> None:
    """A camera whose clock is off warns on every file of its card: the clerk reads three of
    them and the count of the others, not five hundred lines; each file keeps its warning."""
    import subprocess

    card = tmp_path / "DSJ01"
    card.mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1",
                    "-frames:v", "5", str(card / "IMG_%d.JPG")], check=True)  # fmt: skip
    for i, p in enumerate(sorted(card.iterdir())):  # named 2024, written today: a skewed clock
        p.rename(card / f"DSJ01_20240503_10{i:02d}00_{i:04d}.JPG")
    proc = zfjl_run("--vault", str(vault.root), "ingest", str(card), "--no-seal")
    skews = [line for line in proc.stdout.splitlines() if "时钟偏差约" in line]
    assert len(skews) == 3, proc.stdout
    assert "另有 2 个文件同样告警" in proc.stdout
    assert "告警 5" in proc.stdout  # the summary still counts all five
    # --no-seal: the stored line does not promise a seal that this run will not do
    assert "可以拔下记录仪；摘要由保管服务或 zfjl seal 封存" in proc.stderr, proc.stderr
    kept = sum(1 for r in catalog_rows(vault, "recordings") if r["clock_skew"])
    assert kept == 5
