"""Issue 12 (4): a malformed case file is refused with exit 4, naming file, line and field, in
Chinese — impossible dates and times, YAML syntax (unclosed brackets, tabs), misspelt fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zfjl.cases.io import parse_case
from zfjl.checklists.examples import sample_text
from zfjl.errors import CaseFormatError

from .conftest import zfjl_run

ASCII_WORDS = ("expected", "found", "allowed", "unexpected", "mapping", "token", "while", "is not")


def line_of(text: str, needle: str) -> int:
    """The line of `needle` in the sample as it is (other fields may be added above it)."""
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("date: 2024-05-13T09:00", "date: 2024-02-30T09:00"),
         "第 {line} 行 documents[8].date：日期 '2024-02-30T09:00' 不存在：2024 年 2 月只有 29 日"),
        (("date: 2024-05-13T09:00", "date: 2024-05-13T25:52"),
         "第 {line} 行 documents[8].date：时间 '2024-05-13T25:52' 不存在：小时应为 00–23"),
        (("opened_at: 2024-05-06T14:00", "opened_at: 2024-05-06T14:60"),
         "第 {line} 行 opened_at：时间 '2024-05-06T14:60' 不存在：分钟应为 00–59"),
        (("date: 2024-05-13T09:00", "date: 2024-13-01"), "没有 13 月"),
        (("fields: {履行情况: 罚款已缴纳}", "fields: {履行情况: 罚款已缴纳, 缴纳日期: 2023-02-29}"),
         "documents[10].fields.缴纳日期：日期 '2023-02-29' 不存在：2023 年 2 月只有 28 日"),
        (("    number: 株城管罚决", "    numbr: 株城管罚决"),
         "第 {line} 行 documents[8].numbr：未知字段 'numbr'（是否应为 number？）"),
        (("party: {type: 个人", "party: {type: 个人, nmae: 陈某某"), "party.nmae：未知字段 'nmae'（是否应为 name？）"),
        (("kind: 处罚", "kind:\t处罚"), "第 {line} 行第 6 列不是合法的 YAML：含有制表符（Tab）"),
        (("flags: {major: false, legal_review: false}", "flags: {major: false, legal_review: false"),
         "第 {line} 行第 8 列不是合法的 YAML：花括号 { 没有闭合"),
        (("kind: 处罚", "kind: [处罚"), "第 {line} 行第 7 列不是合法的 YAML：方括号 [ 没有闭合"),
        (("shown: true}", "shown: 是}"), "officers[0].shown：类型不对：应为是否（true/false），实为文字 '是'"),
    ],
)  # fmt: skip
def test_malformed_case_files_name_line_and_field_in_chinese(
    edit: tuple[str, str], needle: str
) -> None:
    original = sample_text("penalty")
    text = original.replace(*edit, 1)
    assert text != original
    needle = needle.replace("{line}", str(line_of(original, edit[0])))
    with pytest.raises(CaseFormatError) as exc:
        parse_case(text, "penalty.yaml")
    message = exc.value.message
    assert message.startswith("penalty.yaml ") and needle in message, message
    assert not any(word in message for word in ASCII_WORDS), message


@pytest.mark.parametrize("value", ["2024-02-29", "2024-05-06T23:59", "2024-05-06T00:00:00+08:00"])
def test_possible_dates_and_times_are_accepted(value: str) -> None:
    text = sample_text("penalty").replace("opened_at: 2024-05-06T14:00", f"opened_at: {value}", 1)
    assert parse_case(text)["opened_at"] == value


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("date: 2024-05-13T09:00", "date: 2024-02-30T09:00"), "第 {line} 行 documents[8].date：日期"),
        (("date: 2024-05-13T09:00", "date: 2024-05-13T25:52"), "第 {line} 行 documents[8].date：时间"),
    ],
)
def test_import_of_an_impossible_date_exits_4_naming_file_line_field(
    tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text(sample_text("penalty").replace(*edit, 1), "utf-8")
    proc = zfjl_run("case", "import", str(bad), env=env)
    needle = needle.replace("{line}", str(line_of(sample_text("penalty"), edit[0])))
    assert proc.returncode == 4, proc.stderr
    assert str(bad) in proc.stderr and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(zfjl_run("case", "ls", "--json", env=env).stdout) == []


def test_footage_not_in_the_vault_names_the_line_of_its_media_entry(tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    case_file = tmp_path / "penalty.yaml"
    text = sample_text("penalty")
    case_file.write_text(text, "utf-8")
    proc = zfjl_run("case", "import", str(case_file), env=env)
    first_entry = text.splitlines().index("media:") + 2  # the line after `media:`
    assert proc.returncode == 4, proc.stderr
    assert f"{case_file} 第 {first_entry} 行 media[0]：保管库中没有设备" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["penalty", "demolition", "licensing"])
def test_case_files_read_the_same_on_libyaml_as_on_the_python_parser(name: str) -> None:
    """Case files are parsed by libyaml; PyYAML's own parser (kept for the messages) reads
    them to the same data and the same node lines."""
    import yaml

    from zfjl.cases.io import _compose_and_load, _FastLoader, _Loader

    text = sample_text(name)
    fast_root, fast = _compose_and_load(text, _FastLoader)
    slow_root, slow = _compose_and_load(text, _Loader)
    assert _FastLoader is not _Loader and issubclass(_FastLoader, yaml.CSafeLoader)
    assert fast == slow and isinstance(fast["documents"][0]["date"], str)  # dates stay text
    assert [n.start_mark.line for n, _ in fast_root.value] == [n.start_mark.line for n, _ in slow_root.value]
