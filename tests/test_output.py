"""What a person reads at 80 columns: tables that fit, IDs that can be copied, Chinese words
for kinds, durations, sizes and clock skew, escaped control characters, names in the log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from zfjl.cli import display
from zfjl.vault import Vault

from .conftest import zfjl_run
from .doors import forge_object_rows

COLS = {"COLUMNS": "80", "LINES": "50"}


def run(*args: str) -> str:
    result = zfjl_run(*args, env=COLS)
    assert result.returncode in (0, 10, 11), result.stderr
    return result.stdout


def assert_fits(text: str, width: int = 80) -> None:
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, "\n".join(too_wide)
    assert "…" not in text  # nothing cut: a person copies what is shown


def _vault_with_draw(vault: Vault) -> str:
    root = str(vault.root)
    run("--vault", root, "device", "add", "DSJ02", "--unit", "天元大队", "--since", "2024-01-01")
    run("--vault", root, "spotcheck", "draw", "--unit", "天元大队", "--period", "2024-06",
        "--n", "2", "--seed", "s")  # fmt: skip
    return root


@pytest.mark.parametrize(
    "args",
    [["ls"], ["case", "ls"], ["rules", "ls"], ["check", "--all", "--archived", "--as-of",
     "2024-09-02"], ["spotcheck", "ledger"], ["log", "CASE-2024-045"],
     ["case", "history", "CASE-2024-045"]],
    ids=lambda a: " ".join(a[:2]),
)  # fmt: skip
def test_listings_fit_80_columns_and_cut_nothing(
    sample_cases_vault: Vault, args: list[str]
) -> None:
    root = _vault_with_draw(sample_cases_vault)
    text = run("--vault", root, *args)
    assert text.strip()
    assert_fits(text)


def test_ls_shows_a_12_digit_prefix_that_show_and_view_accept(sample_cases_vault: Vault) -> None:
    root = str(sample_cases_vault.root)
    rows = json.loads(run("--vault", root, "ls", "--json"))
    text = run("--vault", root, "ls")
    first = rows[0]["id"]
    shown = re.search(rf"\b({first[:12]}[0-9a-f]*)\b", text)
    assert shown is not None and len(shown.group(1)) >= 12
    assert first not in text  # the prefix, not the whole digest
    for row in rows:  # every row's kind in Chinese, its duration as 时:分:秒
        assert display.kind(row["kind"]) in text
    assert "视频" in text and "video" not in text
    assert re.search(r"\b\d+:\d\d:\d\d\b", text)
    shown_id = json.loads(run("--vault", root, "show", shown.group(1), "--json"))["id"]
    assert shown_id == first
    # a prefix copied with the ellipsis of an older listing is still taken
    assert json.loads(run("--vault", root, "show", first[:8] + "…", "--json"))["id"] == first


def test_view_accepts_the_listed_prefix(sample_cases_vault: Vault) -> None:
    root = str(sample_cases_vault.root)
    first = json.loads(run("--vault", root, "ls", "--json"))[0]["id"]
    result = zfjl_run("--vault", root, "view", first[:12], env=COLS)
    # no grant: refused for want of an approval, not for the prefix
    assert "编号" not in result.stderr and result.stderr.startswith("错误：")


def test_too_short_and_ambiguous_prefixes_are_refused_clearly(sample_cases_vault: Vault) -> None:
    root = str(sample_cases_vault.root)
    short = zfjl_run("--vault", root, "show", "0a", env=COLS)
    assert short.returncode == 2 and "太短" in short.stderr and "至少 4 位" in short.stderr
    ids = [r["id"] for r in json.loads(run("--vault", root, "ls", "--json"))]
    by_first: dict[str, list[str]] = {}
    for oid in ids:
        by_first.setdefault(oid[:1], []).append(oid)
    shared = next(v for v in by_first.values() if len(v) > 1)
    common = 1
    while all(o[: common + 1] == shared[0][: common + 1] for o in shared[:2]):
        common += 1
    prefix = shared[0][: max(common, 4)]
    if all(o.startswith(prefix) for o in shared[:2]):
        amb = zfjl_run("--vault", root, "show", prefix, env=COLS)
        assert "对应多个文件" in amb.stderr and shared[0][:12] in amb.stderr
    bad = zfjl_run("--vault", root, "show", "zzzz", env=COLS)
    assert bad.returncode == 2 and "不是十六进制" in bad.stderr


def test_unique_prefixes_grow_past_12_digits_when_two_ids_share_them(vault: Vault) -> None:
    from zfjl.vault.query import unique_prefixes

    a, b = "ab" * 6 + "0" + "1" * 51, "ab" * 6 + "1" + "1" * 51
    forge_object_rows(vault.root, [a, b])
    prefixes = unique_prefixes(vault, [a, b])
    assert prefixes == {a: a[:13], b: b[:13]}


def test_display_units() -> None:
    assert display.duration(2700) == "0:45:00"
    assert display.duration(11040.4) == "3:04:00"
    assert display.size(2635940) == "2.6 MB"
    assert display.size(3_400_000_000) == "3.40 GB"
    assert display.skew(51513762) == "约 596 天"
    assert display.skew(40) == "40 秒"
    assert [display.kind(k) for k in ("video", "photo", "audio", "other")] == [
        "视频", "照片", "录音", "其他"]  # fmt: skip
    assert display.safe("a\x1b[31mb\x07\n") == "a\\x1b[31mb\\x07\\n"


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "bad\x1b[31mRED\x07.MP4").write_bytes(b"x")
    root = str(tmp_path / "v")
    run("--vault", root, "init", "--bureau", "株洲市城市管理和综合执法局")
    ingested = zfjl_run("--vault", root, "ingest", str(card), env=COLS)
    listed = run("--vault", root, "ls")
    oid = json.loads(run("--vault", root, "ls", "--json"))[0]["id"]
    shown = run("--vault", root, "show", oid[:12])
    for text in (ingested.stdout, ingested.stderr, listed, shown):
        assert "\x1b" not in text and "\x07" not in text
    assert "bad\\x1b[31mRED\\x07" in ingested.stdout + shown
    # JSON keeps the name as it is
    assert json.loads(run("--vault", root, "ls", "--json"))[0]["original_name"] == (
        "bad\x1b[31mRED\x07.MP4")  # fmt: skip


def test_json_is_not_changed_by_the_display(sample_cases_vault: Vault) -> None:
    root = str(sample_cases_vault.root)
    row = json.loads(run("--vault", root, "ls", "--json"))[0]
    assert len(row["id"]) == 64 and row["kind"] in ("video", "photo", "audio", "other")
    assert isinstance(row["duration"], (float, int, type(None)))


def test_log_shows_the_name_set_for_a_login_and_the_recording_viewed(
    sample_cases_vault: Vault,
) -> None:
    import getpass

    root = str(sample_cases_vault.root)
    login = getpass.getuser()
    run("--vault", root, "config", "set", f"users.{login}.name", "张三")
    before = json.loads(run("--vault", root, "log", "CASE-2024-045", "--json"))["entries"]
    assert all(e["actor"] != "张三" for e in before)  # JSON keeps the login
    run("--vault", root, "grant", "add", login, "--case", "CASE-2024-045", "--approved-by",
        "王局长", "--approval-no", "局批1号", "--until", "2030-01-01")  # fmt: skip
    media = json.loads(run("--vault", root, "case", "show", "CASE-2024-045", "--json"))["media"]
    run("--vault", root, "view", media[0]["recording"][:12])
    text = run("--vault", root, "log", "CASE-2024-045")
    assert "张三" in text and f"（{login}）" in text
    viewed = media[0]["recording"][:12]
    entries = json.loads(run("--vault", root, "log", "CASE-2024-045", "--json"))["entries"]
    views = [e for e in entries if e["kind"] == "access.view"]
    assert views and views[-1]["detail"].startswith(f"记录 {viewed}：")
    assert views[-1]["actor"] == login  # the JSON keeps the login
    assert viewed in text
    assert_fits(text)
    history = run("--vault", root, "case", "history", "CASE-2024-045")
    assert "张三" in history and "case.import" not in history and "导入案件" in history
    refused = zfjl_run("--vault", root, "config", "set", f"users.{login}.name", " ", env=COLS)
    assert refused.returncode == 2


def test_rules_show_is_in_words_not_python(sample_cases_vault: Vault) -> None:
    text = run("--vault", str(sample_cases_vault.root), "rules", "show", "R31-lodged-service")
    assert "{'" not in text and "'kind'" not in text
    assert "检查：须签名" in text


def test_unknown_case_suggests_the_nearest(sample_cases_vault: Vault) -> None:
    result = zfjl_run("--vault", str(sample_cases_vault.root), "check", "case-2024-45", env=COLS)
    assert result.returncode == 4
    assert "没有案件 case-2024-45；是否要找：CASE-2024-045" in result.stderr


def test_ls_kind_takes_the_chinese_word_it_shows(sample_cases_vault: Vault) -> None:
    root = str(sample_cases_vault.root)
    by_word = json.loads(run("--vault", root, "ls", "--kind", "照片", "--json"))
    assert by_word == json.loads(run("--vault", root, "ls", "--kind", "photo", "--json"))
    assert by_word and {r["kind"] for r in by_word} == {"photo"}


def test_usage_and_missing_arguments_name_the_argument_in_chinese() -> None:
    assert zfjl_run("show", "--help", env=COLS).stdout.startswith("用法：zfjl show [选项] 编号")
    missing = zfjl_run("show", env=COLS)
    assert "缺少参数 “编号”" in missing.stderr
