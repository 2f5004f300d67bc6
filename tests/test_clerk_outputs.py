"""A clerk's week (issue 27 item 4), the modules the first pass left: one rule for an output
that exists already (exit 6) in bundles, exports, the custody log's PDF and the user's-files
layer; exports named by the camera's file name."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from zfjl.errors import OutputExists, StorageError
from zfjl.userfs import STAGING_PREFIX, LocalFiles
from zfjl.vault import Vault

from .conftest import zfjl_run
from .doors import catalog_column, forge_catalog, journal_count

APPROVAL = "株城管复〔2024〕7号"


def _root(v: Vault) -> str:
    root = str(v.root)
    v.close()
    return root


def _case_media(v: Vault, case: str) -> list[str]:
    return sorted(set(catalog_column(v, "case_media", "recording_id", case_id=case)))


def _grant_copy(root: str, case: str) -> None:
    zfjl_run("--vault", root, "grant", "add", _me(), "--case", case,
             "--scope", "copy", "--approved-by", "局长", "--approval-no", "局批〔2024〕9号",
             "--until", "2099-12-31", check=True)  # fmt: skip


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _journal_count(root: str, kind: str) -> int:
    with Vault.open(Path(root)) as v:
        return journal_count(v, kind)


# -- bundles: exit 6, the existing path untouched, no staging left behind ----------------------
@pytest.mark.parametrize("name", ["bag", "bag.tar"])
def test_bundle_make_over_an_existing_path_exits_6_and_leaves_it(
    sample_cases_vault: Vault, tmp_path: Path, name: str
) -> None:
    root = _root(sample_cases_vault)
    out = tmp_path / name
    if name.endswith(".tar"):
        out.write_text("a clerk's own file")
    else:
        out.mkdir()
        (out / "mine.txt").write_text("a clerk's own file")
    run = zfjl_run("--vault", root, "bundle", "make", "CASE-2024-052", "--purpose", "court",
                   "--approval", APPROVAL, "-o", str(out))  # fmt: skip
    assert run.returncode == 6, run.stderr
    assert f"输出已存在：{out}" in run.stderr and "--force" not in run.stderr
    kept = out if out.is_file() else out / "mine.txt"
    assert kept.read_text() == "a clerk's own file"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert _journal_count(root, "case.bundle") == 0


# -- an output tree whose name is taken while it is built: refused, never replaced -------------
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_an_output_tree_named_meanwhile_by_someone_else_is_not_replaced(
    tmp_path: Path, kind: str
) -> None:
    dest = tmp_path / ("out.tar" if kind == "file" else "out")
    with pytest.raises(OutputExists, match="输出已存在"), LocalFiles().output_tree(dest) as built:
        if kind == "file":
            built.write_bytes(b"the bundle")
        else:
            built.mkdir()
            (built / "a.txt").write_bytes(b"the bundle")
        dest.write_bytes(b"made meanwhile")  # another program, between the check and the rename
    assert dest.read_bytes() == b"made meanwhile"
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]  # the staging folder is gone


def test_an_output_tree_over_an_existing_path_is_output_exists(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExists) as refused, LocalFiles().output_tree(tmp_path / "out"):
        pass
    assert refused.value.exit_code == 6 and "未写入任何文件" in refused.value.message


def test_copy_out_onto_an_existing_file_is_output_exists(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"evidence")
    dest = tmp_path / "copy.mp4"
    dest.write_bytes(b"mine")
    fd = os.open(src, os.O_RDONLY)
    try:
        with pytest.raises(OutputExists, match="输出已存在"):
            LocalFiles().copy_out(fd, dest)
    finally:
        os.close(fd)
    assert dest.read_bytes() == b"mine"


# -- a user's output that cannot be written is not the vault's failure -------------------------
def test_an_output_file_that_cannot_be_written_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as failed:
        LocalFiles().write_bytes(tmp_path / "no-such-folder" / "x.pdf", b"%PDF")
    said = failed.value.message
    assert "未能写入输出文件" in said and "没有该文件或目录" in said
    assert "保管库" not in said and "No such file" not in said


# -- the custody log's PDF: one rule, --force to replace ---------------------------------------
def test_log_pdf_refuses_an_existing_file_unless_forced(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    root = _root(sample_cases_vault)
    pdf = tmp_path / "保管日志.pdf"
    pdf.write_text("mine")
    log = ["--vault", root, "log", "CASE-2024-052", "--pdf", str(pdf)]
    run = zfjl_run(*log)
    assert run.returncode == 6 and str(pdf) in run.stderr and "--force" in run.stderr
    assert pdf.read_text() == "mine"
    zfjl_run(*log, "--force", check=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    gone = zfjl_run(
        "--vault", root, "log", "CASE-2024-052", "--pdf", str(tmp_path / "无" / "x.pdf")
    )
    assert (
        gone.returncode == 6 and "未能写入输出文件" in gone.stderr and "保管库" not in gone.stderr
    )


# -- exports: exit 6 for a taken name, files named as the camera named them --------------------
def test_export_over_an_existing_file_exits_6_before_any_copy(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    first = _case_media(sample_cases_vault, "CASE-2024-031")[0]
    (camera,) = catalog_column(sample_cases_vault, "recordings", "original_name", id=first)
    root = _root(sample_cases_vault)
    _grant_copy(root, "CASE-2024-031")
    out = tmp_path / "copies"
    out.mkdir()
    (out / camera).write_text("mine")
    run = zfjl_run("--vault", root, "export", first[:12], "-o", str(out))
    assert run.returncode == 6 and "输出已存在" in run.stderr
    assert (out / camera).read_text() == "mine" and sorted(os.listdir(out)) == [camera]
    assert _journal_count(root, "access.export") == 0


def test_export_names_each_file_as_the_camera_did(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    ids = _case_media(sample_cases_vault, "CASE-2024-031")[:2]
    cameras = [catalog_column(sample_cases_vault, "recordings", "original_name", id=i)[0] for i in ids]
    root = _root(sample_cases_vault)
    _grant_copy(root, "CASE-2024-031")
    out = tmp_path / "copies"
    shown = zfjl_run("--vault", root, "export", *(i[:12] for i in ids), "-o", str(out),
                     check=True).stdout  # fmt: skip
    assert sorted(os.listdir(out)) == sorted([*cameras, "SHA256SUMS"])
    assert all(str(out / c) in shown for c in cameras)  # at 80 columns, whole
    sums = (out / "SHA256SUMS").read_text()
    assert sorted(line.split("  ")[1] for line in sums.splitlines()) == sorted(cameras)
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout


def test_export_of_two_recordings_of_one_name_adds_the_id(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    ids = _case_media(sample_cases_vault, "CASE-2024-031")[:2]
    # Two cameras left at their factory name, or a name reused after a card was formatted.
    forge_catalog(sample_cases_vault.root, "UPDATE recordings SET original_name ="
                  f" 'DCIM/100MEDIA/VID0001.MP4' WHERE id IN ('{ids[0]}', '{ids[1]}')")  # fmt: skip
    root = _root(sample_cases_vault)
    _grant_copy(root, "CASE-2024-031")
    out = tmp_path / "copies"
    zfjl_run("--vault", root, "export", *(i[:12] for i in ids), "-o", str(out), check=True)
    expected = sorted(f"VID0001_{i[:12]}.MP4" for i in ids)
    assert sorted(os.listdir(out)) == sorted([*expected, "SHA256SUMS"])
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize(
    ("original", "name"),
    [("DSJ01_20240506_103200_0001.MP4", "DSJ01_20240506_103200_0001.MP4"),
     ("DCIM/100MEDIA/VID0001.MP4", "VID0001.MP4"), ("C:\\DCIM\\a.mp4", "a.mp4"),
     ("bad\x1b[31m\nname.mp4", "bad_[31m_name.mp4"), ("..", None), ("", None), (None, None),
     ("sha256sums", None), ("x" * 300 + ".mp4", None)],
)  # fmt: skip
def test_a_camera_name_becomes_one_safe_path_component(
    original: str | None, name: str | None
) -> None:
    from zfjl.access.reads import camera_name

    assert camera_name(original) == name


# -- ingest: ffprobe's and exiftool's words in Chinese, as `show` gives them ------------------
def test_ingest_gives_ffprobes_complaint_in_chinese(vault: Vault, tmp_path: Path) -> None:
    card = tmp_path / "DSJ05"
    card.mkdir()
    (card / "DSJ05_20240610_100000_0001.MP4").write_bytes(bytes(range(256)) * 20)
    shown = zfjl_run("--vault", _root(vault), "ingest", str(card), check=True).stdout
    assert "媒体文件损坏或不完整" in shown and "无法识别" in shown
    assert "Invalid data" not in shown


# -- grant ls: a table with a header, as hold ls, dates the Chinese way -------------------------
def test_grant_ls_is_a_table_that_fits_80_columns_with_chinese_dates(
    sample_cases_vault: Vault,
) -> None:
    first = _case_media(sample_cases_vault, "CASE-2024-031")[0]
    root = _root(sample_cases_vault)
    _grant_copy(root, "CASE-2024-031")
    added = zfjl_run("--vault", root, "grant", "add", "zfjltest_nobody", "--recording", first[:12],
                     "--approved-by", "某某某副局长", "--approval-no",
                     "株洲市城市管理和综合执法局批〔2024〕第0012号", "--until", "2098-01-31",
                     "--json", check=True)  # fmt: skip
    gid = json.loads(added.stdout)["id"]
    zfjl_run(
        "--vault", root, "grant", "revoke", gid, "--approval-no", "局批〔2024〕11号", check=True
    )
    lines = zfjl_run("--vault", root, "grant", "ls", "--all", check=True).stdout.splitlines()
    assert lines[0].split() == ["编号", "用户", "范围", "对象", "批准人（文号）", "有效期/已撤销"]
    assert all(_cells(line) <= 80 for line in lines)
    assert any(line.rstrip().endswith("至 2099年12月31日") for line in lines)
    assert any(line.rstrip().endswith("已撤销") for line in lines)
    assert any("CASE-2024-031" in line for line in lines) and any(
        first[:12] in line for line in lines
    )
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:", line) for line in lines)
    assert lines[-1].startswith("共 2 项")


def _cells(text: str) -> int:
    from zfjl.cli.helpfmt import cells

    return cells(text)
