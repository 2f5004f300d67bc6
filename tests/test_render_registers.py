"""Registers made in render/ from plain data, overridable by the vault's templates like the
documents; `zfjl render CASE` renders every document with a template in any folder and says
what it skipped."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from zfjl.access import custody_log
from zfjl.render import (
    custody_log_pdf,
    render_case,
    spotcheck_ledger_pdf,
    sweep_register_pdf,
    vault_template_dirs,
)
from zfjl.render.templates import builtin_template_dirs
from zfjl.retention import sweep
from zfjl.vault import Vault

from .conftest import zfjl_cli
from .test_custom import install_custom


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return re.sub(r"\s+", "", out.stdout)


def _override(vault: Vault, name: str, body: str, tmp_path: Path) -> None:
    """A bureau's template, installed by its administrator (zfjl custom add templates)."""
    install_custom(vault, "templates", f"{name}.typ.j2",
                   f'{{% extends "_base.typ.j2" %}}{{% set title = "{name}（本局格式）" %}}'
                   f"{{% block body %}}{body}{{% endblock %}}\n", tmp_path)  # fmt: skip


def test_the_vault_template_folder_comes_first(vault: Vault, tmp_path: Path) -> None:
    assert vault_template_dirs(vault) == [{}, *builtin_template_dirs()]
    _override(vault, "保管日志", "x", tmp_path)
    (installed, *shipped) = vault_template_dirs(vault)
    assert list(installed) == ["保管日志.typ.j2"] and shipped == builtin_template_dirs()


def test_registers_render_from_plain_data_with_the_shipped_templates(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v, dirs = sample_cases_vault, vault_template_dirs(sample_cases_vault)
    log = custody_log(v, "CASE-2024-031").as_dict()
    text = pdf_text(custody_log_pdf(log, dirs, bureau="某市某局", printed_at=v.now_iso()), tmp_path)
    assert "执法记录保管日志" in text and "CASE-2024-031" in text and "某市某局" in text
    # For a court, who did it is a person: the name set for the login, the login beside it.
    login = log["entries"][0]["actor"]
    named = pdf_text(custody_log_pdf(log, dirs, bureau="某市某局", printed_at=v.now_iso(),
                                     names={login: "王法规"}), tmp_path)  # fmt: skip
    assert "王法规" in named and f"（{login}）" in named and "王法规" not in text
    plan = sweep.plan(v).as_dict()
    assert "销毁清册" in pdf_text(sweep_register_pdf(plan, dirs, bureau="某市某局"), tmp_path)
    ledger = spotcheck_ledger_pdf([], dirs, bureau="某市某局", unit="一中队", period="2024-05",
                                  printed_at=v.now_iso())  # fmt: skip
    assert "一中队" in pdf_text(ledger, tmp_path)


def test_a_bureau_overrides_a_register_template_in_its_vault(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    _override(v, "保管日志", "本局保管日志：{{ log.target }}，{{ log.entries | length }} 条", tmp_path)
    log = custody_log(v, "CASE-2024-031").as_dict()
    pdf = custody_log_pdf(log, vault_template_dirs(v), bureau="某局", printed_at=v.now_iso())
    assert f"本局保管日志：CASE-2024-031，{len(log['entries'])}条" in pdf_text(pdf, tmp_path)
    out = tmp_path / "log.pdf"
    cli = zfjl_cli("--vault", str(v.root), "log", "CASE-2024-031", "--pdf", str(out))
    assert cli.returncode == 0, cli.stderr
    assert "本局保管日志" in pdf_text(out.read_bytes(), tmp_path)


def _bureau_type_without_template(vault: Vault, tmp_path: Path) -> None:
    """A type the bureau added (<vault>/doctypes, installed) but made no template for, and a
    document of it in CASE-2024-052: every shipped type has a form, so only such a type has
    none."""
    from zfjl.cases.store import add_document, reopen_case

    install_custom(vault, "doctypes", "local.yaml", "调查取证:\n  - 现场勘验图\n", tmp_path)
    reopen_case(vault, "CASE-2024-052", reason="测试：补入本局文书")  # archived
    add_document(vault, "CASE-2024-052",
                 {"id": "d-sketch", "type": "现场勘验图", "date": "2024-07-02T10:00"})  # fmt: skip


def test_render_makes_a_document_whose_template_the_bureau_added_and_lists_what_it_skipped(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    _bureau_type_without_template(v, tmp_path)
    _override(v, "行政许可决定书", "许可决定：{{ case.party.name }}", tmp_path)  # none shipped
    _override(v, "申请书", "{{ doc.nothing }}", tmp_path)  # a template the case lacks data for
    result = render_case(v, "CASE-2024-052", tmp_path / "out")
    names = sorted(p.name for p in result)
    assert any(n.endswith("_行政许可决定书_d-license.pdf") for n in names)
    assert len(result) == 6 + 4  # every document but two, and the case parts
    skipped = {s.document: (s.type, s.reason) for s in result.skipped}
    assert skipped == {"d-sketch": ("现场勘验图", "no_template"),
                       "d-apply": ("申请书", "missing_data")}  # fmt: skip
    assert "缺少数据" in next(s.detail for s in result.skipped if s.document == "d-apply")
    assert result.as_dict()["skipped"][0]["reason"] == "no_template"


def test_the_command_line_prints_and_emits_the_skipped_documents(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    _bureau_type_without_template(sample_cases_vault, tmp_path)
    root = str(sample_cases_vault.root)
    shown = zfjl_cli("--vault", root, "render", "CASE-2024-052", "-o", str(tmp_path / "a"))
    assert shown.returncode == 0, shown.stderr
    assert "未制作：d-sketch 现场勘验图" in shown.stdout and "没有 现场勘验图 的模板" in shown.stdout
    emitted = zfjl_cli("--vault", root, "render", "CASE-2024-052", "-o", str(tmp_path / "b"),
                       "--json")  # fmt: skip
    data = json.loads(emitted.stdout)
    assert len(data["files"]) == 7 + 4 and len(data["skipped"]) == 1
    assert {s["reason"] for s in data["skipped"]} == {"no_template"}
