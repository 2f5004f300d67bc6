"""Data that means what it says: the retention classes file decides order, sweepability and
periods; document types are a shipped file a vault extends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfjl.cases.doctypes import DOCTYPES, STAGES, load_doctypes, vault_doctypes
from zfjl.cases.io import parse_case
from zfjl.cases.store import attach, open_case
from zfjl.errors import CaseFormatError, DataFileError
from zfjl.ingest import ingest
from zfjl.retention import sweep
from zfjl.retention.classes import load_classes, shipped_classes, shipped_classes_text
from zfjl.retention.holds import place_hold
from zfjl.sample import make_video
from zfjl.vault import Vault
from zfjl.vault.settings import set_setting
from zfjl.vault.setup import init_vault

from .conftest import TZ, fixed_clock, zfjl_cli
from .doors import catalog_rows
from .test_custom import install_custom

JAN = dt.datetime(2024, 1, 10, 9, tzinfo=TZ)
AUG = dt.datetime(2024, 8, 15, 9, tzinfo=TZ)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    for n in (1, 2):  # old patrol; linked to a case and held
        when = JAN.replace(hour=7 + n) - dt.timedelta(days=1)
        make_video(root / f"DSJ01_{when:%Y%m%d_%H%M%S}_{n:04d}.MP4", when, seconds=0.5)
    return root


@pytest.fixture
def aged(tmp_path: Path, card: Path) -> Iterator[tuple[Vault, str, str]]:
    """Two recordings stored 2024-01-10, seen on 2024-08-15: one plain, one linked and held."""
    now = [JAN]
    vault = Vault.create(tmp_path / "vault", clock=lambda: now[0])
    ingest(vault, card)
    old, both = [r["id"] for r in sorted(catalog_rows(vault, "recordings"),
                                         key=lambda r: r["original_name"])]  # fmt: skip
    open_case(vault, {
        "case": "CASE-2024-031", "kind": "处罚", "procedure": "一般", "cause": "占道经营",
        "party": {"type": "个人", "name": "张三"}, "origin": "依职权", "opened_at": "2024-01-11T09:00",
        "flags": {},
    })  # fmt: skip
    attach(vault, "CASE-2024-031", recordings=[both], activity="现场检查")
    place_hold(vault, both, "dispute", None)
    now[0] = AUG
    yield vault, old, both
    vault.close()


def _classes_file(tmp_path: Path, edit: dict[str, str]) -> Path:
    text = shipped_classes_text()
    for old, new in edit.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "classes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- retention classes -------------------------------------------------------------------------
def test_the_shipped_file_gives_the_order_and_only_patrol_is_swept() -> None:
    classes = shipped_classes()
    assert [c.id for c in classes] == ["held", "case", "important", "unknown", "patrol"]
    assert [c.id for c in classes if c.sweep] == ["patrol"] and classes["patrol"].months == 6


def test_a_classes_file_that_does_not_sweep_patrol_destroys_nothing(
    aged: tuple[Vault, str, str], tmp_path: Path
) -> None:
    vault, old, _ = aged
    assert [i.id for i in sweep.plan(vault).due] == [old]
    path = _classes_file(tmp_path, {"  when: always\n  sweep: true": "  when: always\n  sweep: false"})
    kept = sweep.plan(vault, classes=load_classes(path))
    assert kept.due == [] and kept.kept["patrol"] == 1 and kept.not_yet_due == 0
    set_setting(vault, "retention.standing_approval", "常设〔2024〕1号", approval_no="局批〔2024〕7号")
    vault.close()
    vault = Vault.open(vault.root, clock=lambda: AUG)
    assert sweep.destroy_due(vault, None, classes=load_classes(path)).deleted == 0
    assert vault.objects.exists(old)


def test_months_in_the_file_lengthen_the_period_and_vault_json_lengthens_it_further(
    aged: tuple[Vault, str, str], tmp_path: Path
) -> None:
    vault, old, _ = aged
    twelve = load_classes(_classes_file(tmp_path, {"  months: 6": "  months: 12"}))
    result = sweep.plan(vault, classes=twelve)
    assert result.due == [] and result.patrol_months == 12 and result.not_yet_due == 1
    (item,) = [i for i in sweep.classify(vault, AUG, classes=twelve) if i.id == old]
    assert item.expires_at is not None and item.expires_at.startswith("2025-01-10")
    set_setting(vault, "retention.patrol_months", 18, approval_no="局批〔2024〕7号")
    vault.close()
    reopened = Vault.open(vault.root, clock=lambda: AUG)
    assert sweep.plan(reopened, classes=twelve).patrol_months == 18
    reopened.close()


def test_the_order_of_the_file_decides_which_class_a_recording_falls_in(
    aged: tuple[Vault, str, str], tmp_path: Path
) -> None:
    vault, _, both = aged
    assert sweep.plan(vault).kept == {"held": 1}
    text = shipped_classes_text()
    held = text[text.index("held:\n"):text.index("case:\n")]
    case = text[text.index("case:\n"):text.index("important:\n")]
    path = tmp_path / "reordered.yaml"
    path.write_text(text.replace(held + case, case + held), encoding="utf-8")
    (item,) = [i for i in sweep.classify(vault, AUG, classes=load_classes(path)) if i.id == both]
    assert item.cls == "case" and item.why == "已关联案件"


@pytest.mark.parametrize(("edit", "message"), [
    ({"  months: 6": "  months: 5"}, "不少于 6"),
    ({"  when: always\n": "  when: sometimes\n"}, "when 只能是"),
    ({"  when: held\n": "  when: always\n"}, "最后一类为 when: always"),
    ({"  when: always\n  sweep: true\n  months: 6\n": "  when: not_media\n  sweep: true\n  months: 6\n"},
     "最后一类为 when: always"),
    ({"  sweep: false\ncase:": "  sweep: maybe\ncase:"}, "sweep 应为 true 或 false"),
    ({"  basis: 非执法记录设备": "  bases: 非执法记录设备"}, "缺少 basis"),
])  # fmt: skip
def test_a_malformed_classes_file_is_refused_on_load_naming_the_class(
    tmp_path: Path, edit: dict[str, str], message: str
) -> None:
    with pytest.raises(DataFileError, match=message) as err:
        load_classes(_classes_file(tmp_path, edit))
    assert "保存类别文件" in err.value.message


# -- document types ----------------------------------------------------------------------------
def test_the_shipped_doctypes_file_keeps_the_stages_and_types() -> None:
    assert STAGES == ("程序启动", "调查取证", "审查决定", "送达执行", "归档管理")
    # 54, plus the 7 types issue 12 added (强制拆除公告, 复议诉讼情况记录, 限期拆除决定书, the
    # seizure extension/release/handling decisions and the 延长办案期限审批表).
    assert DOCTYPES["行政处罚决定书"] == "审查决定" and len(DOCTYPES) == 61
    assert load_doctypes() == DOCTYPES


def test_a_vault_adds_document_types_in_its_doctypes_folder(tmp_path: Path) -> None:
    vault = init_vault(tmp_path / "vault", bureau="株洲市城市管理和综合执法局", clock=fixed_clock(JAN))
    install_custom(vault, "doctypes", "local.yaml",
                   "调查取证:\n  - 现场勘验图\n审查决定:\n  - 行政处罚决定书\n", tmp_path)
    types = vault_doctypes(vault)
    assert types["现场勘验图"] == "调查取证" and types["行政处罚决定书"] == "审查决定"
    assert list(types)[: len(DOCTYPES)] == list(DOCTYPES)  # shipped first, in their order
    listed = zfjl_cli("--vault", str(vault.root), "rules", "doctypes")
    assert listed.returncode == 0 and "现场勘验图" in listed.stdout
    case = ("case: CASE-2024-001\nkind: 处罚\nprocedure: 一般\ncause: 占道经营\n"
            "party: {type: 个人, name: 张三}\norigin: 依职权\nopened_at: 2024-01-11T09:00\n"
            "documents:\n  - {id: d-map, type: 现场勘验图, date: 2024-01-11}\n")  # fmt: skip
    with pytest.raises(CaseFormatError, match="未知的文书类型"):
        parse_case(case)
    assert parse_case(case, doctypes=types)["documents"][0]["type"] == "现场勘验图"
    (tmp_path / "case.yaml").write_text(case, encoding="utf-8")
    imported = zfjl_cli("--vault", str(vault.root), "case", "import", str(tmp_path / "case.yaml"))
    assert imported.returncode == 0, imported.stderr  # the clerk's way in takes the vault's types
    vault.close()


@pytest.mark.parametrize(("text", "message"), [
    ("立案环节:\n  - 某表\n", "未知环节"),
    ("调查取证:\n  - 行政处罚决定书\n", "已属于 审查决定"),
    ("调查取证: 某表\n", "应为文书类型名称的列表"),
    ("- 某表\n", "映射"),
])  # fmt: skip
def test_a_malformed_doctypes_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=message) as err:
        load_doctypes([tmp_path])
    assert "bad.yaml" in err.value.message
