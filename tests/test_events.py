"""Journal events are declared once: typed when appended, checked when replayed and verified,
and nobody outside the declarations writes a kind or a payload by hand."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from zfjl.vault import Vault, catalog, events
from zfjl.vault.verify import verify

from .conftest import zfjl_cli
from .doors import append_forged_row, journal_count, journal_events

PACKAGE = Path(__file__).resolve().parent.parent / "zfjl"
KIND = re.compile(r"^[a-z]+\.[a-z_]+$")


def test_every_declared_event_is_either_folded_into_the_catalog_or_kept_for_the_record() -> None:
    declared = set(events.REGISTRY.values())
    handled = set(catalog.HANDLERS)
    assert handled.isdisjoint(catalog.RECORD_ONLY)
    assert handled | catalog.RECORD_ONLY == declared
    assert all(KIND.match(kind) for kind in events.REGISTRY)
    assert all(cls.label and not cls.label.isascii() for cls in declared)  # read by people


def _spelt_out_kinds(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals naming a declared kind (or shaped like one, passed to record/append):
    a misspelling of one would silently write or find nothing."""
    in_paths = {
        id(n.right) for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)
    }  # Path("keys") / "checkpoint.key" is a file name, not a kind
    found = []
    for node in ast.walk(tree):
        literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if literal and id(node) not in in_paths and node.value in events.REGISTRY:  # type: ignore[attr-defined]
            found.append((node.lineno, node.value))  # type: ignore[attr-defined]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("record", "append")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and KIND.match(node.args[0].value)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_module_spells_out_an_event_kind_or_writes_a_payload_by_hand() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "events.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}:{n} {k}" for n, k in _spelt_out_kinds(ast.parse(text))]
        offenders += [f"{path.name}: {m}" for m in re.findall(r"kind\s*=\s*'[a-z]+\.[a-z_]+'", text)]
    assert offenders == []


def test_a_misspelt_or_mistyped_event_is_refused_before_it_is_journaled(vault: Vault) -> None:
    rows = journal_count(vault)
    bad = events.HoldPlace(target=12, target_kind="case", reason="dispute")  # type: ignore[arg-type]
    with pytest.raises(events.MalformedEvent, match="字段 target 应为文本"):
        vault.record(bad, None)
    with pytest.raises(TypeError):
        events.HoldPlace(target="x", target_kind="case", reasn="dispute")  # type: ignore[call-arg]
    assert journal_count(vault) == rows


@pytest.mark.parametrize(
    ("kind", "data", "says"),
    [
        ("hold.plac", {"target": "x"}, "未声明的事件类型"),
        ("hold.place", {"target": "x", "target_kind": "case"}, "缺少字段 reason"),
        ("hold.place", {"target": "x", "target_kind": "case", "reason": "r", "colour": 1}, "未知字段 colour"),
        ("object.tombstone", [], "内容应为对象"),
        ("grant.revoke", {"grant": None}, "字段 grant 不能为空"),
        ("ingest.begin", {"run": "r", "source": "s", "host": None, "options": {}, "files": True,
                          "bytes": 1}, "字段 files 应为整数"),
    ],
)  # fmt: skip
def test_parse_names_what_is_wrong(kind: str, data: object, says: str) -> None:
    with pytest.raises(events.MalformedEvent, match=says):
        events.parse(kind, data)


def test_payload_keys_that_are_not_identifiers_round_trip() -> None:
    t = events.ObjectTombstone(id="a", sha256="b", size=1, cls="patrol", recording={},
                               reason="r", policy={}, approval="批", sweep="S-1")  # fmt: skip
    payload = t.payload()
    assert payload["class"] == "patrol" and "cls" not in payload
    assert events.parse("object.tombstone", payload) == t


@pytest.mark.parametrize(
    ("kind", "data"),
    [("grant.ad", {"user": "clerk1"}), ("grant.add", {"user": "clerk1", "target": "CASE-1"})],
)
def test_verify_names_an_undeclared_or_malformed_row(
    vault: Vault, kind: str, data: dict[str, object]
) -> None:
    vault.close()
    seq = append_forged_row(vault.root, kind, data)
    report = verify(Vault.open(vault.root), read_data=False)
    found = [f for f in report.findings if f.code == "event_malformed"]
    assert [f.subject for f in found] == [f"日志第 {seq} 条（{kind}）"]
    assert not report.ok
    proc = zfjl_cli("--vault", str(vault.root), "verify", "--json")
    assert proc.returncode != 0 and "event_malformed" in proc.stdout


def test_every_row_of_a_working_vault_fits_its_declaration(sample_cases_vault: Vault) -> None:
    kinds = set()
    for ev in journal_events(sample_cases_vault):
        events.parse(ev.kind, ev.data)
        kinds.add(ev.kind)
    assert {"vault.init", "object.add", "object.seen", "case.import"} <= kinds


def test_labels_name_each_kind_in_chinese() -> None:
    assert events.label_of("hold.place") == "长期保存"
    assert events.label_of("no.such") == "no.such"


def test_every_declared_event_has_fields_of_accepted_types() -> None:
    # Resolved on first use (start-up), so checked here for every declaration at once.
    for cls in events.REGISTRY.values():
        specs = cls.specs()
        assert [s.name for s in specs] == [
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.name != "extra"
        ]


def test_events_compare_and_print_by_payload_and_stay_frozen() -> None:
    a = events.VaultVerify(subset="1/1", read_data=True, objects_checked=2, problems=[])
    same = events.VaultVerify(subset="1/1", read_data=True, objects_checked=2, problems=[])
    other = events.VaultVerify(subset="1/1", read_data=True, objects_checked=3, problems=[])
    assert a == same and a != other and a != a.payload()
    assert repr(a) == "VaultVerify(subset='1/1', read_data=True, objects_checked=2, problems=[])"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.subset = "2/2"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.surprise = 1  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.subset
    assert a == same  # nothing changed
