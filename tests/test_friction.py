"""Inputs once accepted silently or crashing: refused with one line."""

from __future__ import annotations

from pathlib import Path

from .conftest import zfjl_run


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
