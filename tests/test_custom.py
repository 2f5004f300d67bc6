"""A bureau's templates, rule packs and document types are code (issue 23): only what an
administrator installed (journaled with its SHA-256) is loaded, a file planted in the vault's
folders is not and `verify` names it; templates render in Jinja's sandbox, and a case field
reaches Typst as text, never as markup or code."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from zfjl.cases.doctypes import vault_doctypes
from zfjl.cases.store import get_case, import_case, reopen_case
from zfjl.checklists import vault_rules
from zfjl.errors import NotFoundError, NotPermitted, UsageError
from zfjl.render import RenderError, render_case
from zfjl.render.pdf import compile_pdf
from zfjl.vault import Vault
from zfjl.vault.custom import UntrustedFileWarning, install, remove, states
from zfjl.vault.verify import verify

from .conftest import set_roles, zfjl_run
from .doors import catalog_count, journal_count, journal_events, journal_kinds

APPROVAL = "局批〔2024〕9号"
# What the red team planted: Python reached from a template, running a shell command.
PAYLOAD = '{{{{ cycler.__init__.__globals__.os.system("touch {marker}") }}}}'


def install_custom(
    vault: Vault, kind: str, name: str, text: str, tmp_path: Path
) -> dict[str, object]:
    """Install a file as an administrator does (`zfjl custom add KIND FILE --approval …`)."""
    source = tmp_path / "to-install" / name
    source.parent.mkdir(exist_ok=True)
    source.write_text(text, encoding="utf-8")
    return install(vault, kind, source, approval=APPROVAL)


def plant(vault: Vault, kind: str, name: str, text: str) -> Path:
    """A file copied into the vault's folder by hand (the red team's way in)."""
    folder = vault.root / kind
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return re.sub(r"\s+", "", out.stdout)


def custom_codes(vault: Vault) -> dict[str, str]:
    report = verify(vault, read_data=False)
    return {f.subject: f.code for f in report.findings if f.code.startswith("custom_")}


def interview_template(body: str) -> str:
    return ('{% extends "_base.typ.j2" %}{% set title = "询问笔录（本局格式）" %}'
            f"{{% block body %}}{body}{{% endblock %}}\n")  # fmt: skip


# -- templates --------------------------------------------------------------------------------
def test_a_planted_template_is_not_loaded_and_verify_names_it(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    marker = tmp_path / "pwned"
    plant(v, "templates", "询问笔录.typ.j2",
          interview_template("本局格式 " + PAYLOAD.format(marker=marker)))  # fmt: skip
    with pytest.warns(UntrustedFileWarning, match=r"templates/询问笔录.typ.j2：未经管理员安装登记"):
        (path,) = render_case(v, "CASE-2024-031", tmp_path / "out", doctype="询问笔录")
    text = pdf_text(path)
    assert "询问笔录" in text and "本局格式" not in text  # the shipped template made it
    assert not marker.exists()
    assert custom_codes(v) == {"templates/询问笔录.typ.j2": "custom_unapproved"}
    assert not verify(v, read_data=False).ok


def test_an_installed_template_is_loaded_journaled_and_a_later_edit_is_not(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    text = interview_template("被询问人：{{ case.party.name }}")
    row = install_custom(v, "templates", "询问笔录.typ.j2", text, tmp_path)
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert row["sha256"] == digest and row["approval"] == APPROVAL
    assert (v.root / "templates" / "询问笔录.typ.j2").read_text("utf-8") == text
    (kind, data), = [(e.kind, e.data) for e in journal_events(v) if e.kind.startswith("custom.")]
    assert kind == "custom.install" and data == {
        "kind": "templates", "name": "询问笔录.typ.j2", "sha256": digest,
        "size": len(text.encode()), "approval": APPROVAL, "replaces": None}  # fmt: skip
    (path,) = render_case(v, "CASE-2024-031", tmp_path / "a", doctype="询问笔录")
    assert "询问笔录（本局格式）" in pdf_text(path)
    assert custom_codes(v) == {}
    # Changed by hand after the install: no longer the approved bytes, so not loaded.
    plant(v, "templates", "询问笔录.typ.j2", interview_template("改过的"))
    with pytest.warns(UntrustedFileWarning, match="安装后被改动"):
        (path,) = render_case(v, "CASE-2024-031", tmp_path / "b", doctype="询问笔录")
    assert "本局格式" not in pdf_text(path)
    assert custom_codes(v) == {"templates/询问笔录.typ.j2": "custom_changed"}
    removed = remove(v, "templates", "询问笔录.typ.j2", approval="局批〔2024〕11号")
    assert removed["installed"] and not (v.root / "templates" / "询问笔录.typ.j2").exists()
    assert custom_codes(v) == {} and states(v) == []


def test_only_an_administrator_installs_or_removes(vault: Vault, tmp_path: Path) -> None:
    plant(vault, "rules", "plant.yaml", "pack: x\nrules: []\n")
    set_roles(vault, "clerk")
    before = journal_count(vault)
    with pytest.raises(NotPermitted, match="无权安装文书模板"):
        install_custom(vault, "templates", "询问笔录.typ.j2", interview_template("x"), tmp_path)
    with pytest.raises(NotPermitted, match="无权移除检查规则包"):
        remove(vault, "rules", "plant.yaml", approval=APPROVAL)
    assert (
        not (vault.root / "templates").exists() and (vault.root / "rules" / "plant.yaml").exists()
    )
    assert journal_count(vault) == before


@pytest.mark.parametrize(("kind", "name", "text", "message"), [
    ("templates", "x.typ.j2", "{% if %}", "语法有误"),
    ("templates", "x.html", "hi", "以 .typ.j2 结尾"),
    ("rules", "../x.yaml", "pack: x\nrules: []\n", "不含目录"),
    ("rules", "x.yaml", "pack: x\n", "应含 pack 与 rules"),
    ("doctypes", "x.yaml", "立案环节:\n  - 某表\n", "未知环节"),
    ("scripts", "x.yaml", "", "未知的类别"),
])  # fmt: skip
def test_what_is_not_a_template_rule_pack_or_doctypes_file_is_refused(
    vault: Vault, tmp_path: Path, kind: str, name: str, text: str, message: str
) -> None:
    source = tmp_path / "src.txt"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        install(vault, kind, source, approval=APPROVAL, name=name)
    with pytest.raises(UsageError, match="须写明审批编号"):
        install(vault, "rules", source, approval=" ", name="ok.yaml")
    assert catalog_count(vault, "custom_files") == 0


def test_the_sandbox_refuses_python_even_from_an_installed_template(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    marker = tmp_path / "pwned"
    install_custom(v, "templates", "询问笔录.typ.j2",
                   interview_template(PAYLOAD.format(marker=marker)), tmp_path)  # fmt: skip
    with pytest.raises(RenderError, match=r"模板 询问笔录 试图访问不允许的内部对象.*已拒绝"):
        render_case(v, "CASE-2024-031", tmp_path / "out", doctype="询问笔录")
    assert not marker.exists()
    proc = zfjl_run("--vault", str(v.root), "render", "CASE-2024-031", "询问笔录", "-o",
                    str(tmp_path / "out"))  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("错误：模板 询问笔录 试图访问不允许的内部对象")
    assert not marker.exists()


def test_typst_code_in_a_case_field_is_printed_never_run(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    v = sample_cases_vault
    case = get_case(v, "CASE-2024-031")
    hostile = ('#read("/etc/hostname") #eval("1+1") #import "@preview/x:0.1.0": * '
               '"#sym.x" ]#text(red)[')  # fmt: skip
    case["party"]["name"] = hostile
    doc = next(d for d in case["documents"] if d["type"] == "询问笔录")
    doc["fields"]["询问内容"] = '第一行\n1. 第二行 #read("keys/checkpoint.key")'
    doc["signatures"] = [{"role": '")#x("', "name": "张三"}]  # ends #sign("…")'s string?
    reopen_case(v, "CASE-2024-031", reason="测试：Typst 代码")
    import_case(v, {**case, "status": "已结案"}, reason="测试：Typst 代码")
    (path,) = render_case(v, "CASE-2024-031", tmp_path, doctype="询问笔录")
    text = pdf_text(path)
    assert re.sub(r"\s+", "", hostile) in text
    assert '1.第二行#read("keys/checkpoint.key")' in text
    assert '")#x("（签名）' in text
    hostname = Path("/etc/hostname").read_text().strip()
    assert not hostname or hostname not in text.replace(re.sub(r"\s+", "", hostile), "")


def test_typst_reads_no_file_even_when_a_template_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "checkpoint.key").write_text("SECRET", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # as a service whose working directory is the vault
    for ask in ('#read("keys/checkpoint.key")', '#read("/etc/hostname")',
                '#include "keys/checkpoint.key"'):  # fmt: skip
        with pytest.raises(RenderError, match="排版失败"):
            compile_pdf(ask)


# -- rules and document types -----------------------------------------------------------------
RULES = "pack: 本局\nrules:\n  - {id: R37-stored-in-time, disabled: true}\n"
DOCTYPES = "调查取证:\n  - 现场勘验图\n"


def test_a_planted_rule_pack_is_not_loaded_and_an_installed_one_is(
    vault: Vault, tmp_path: Path
) -> None:
    plant(vault, "rules", "local.yaml", RULES)
    with pytest.warns(UntrustedFileWarning, match="rules/local.yaml"):
        ids = {r.id for r in vault_rules(vault)}
    assert "R37-stored-in-time" in ids
    assert custom_codes(vault) == {"rules/local.yaml": "custom_unapproved"}
    install(
        vault, "rules", vault.root / "rules" / "local.yaml", approval=APPROVAL
    )  # approved in place
    assert "R37-stored-in-time" not in {r.id for r in vault_rules(vault)}
    assert custom_codes(vault) == {}


def test_a_planted_doctypes_file_is_not_loaded_and_an_installed_one_is(
    vault: Vault, tmp_path: Path
) -> None:
    plant(vault, "doctypes", "local.yaml", DOCTYPES)
    (vault.root / "doctypes" / "sub").mkdir()
    (vault.root / "doctypes" / "sub" / "x.yaml").symlink_to("/etc/hostname")
    with pytest.warns(UntrustedFileWarning, match="doctypes/local.yaml"):
        assert "现场勘验图" not in vault_doctypes(vault)
    assert custom_codes(vault) == {"doctypes/local.yaml": "custom_unapproved",
                                   "doctypes/sub/x.yaml": "custom_unapproved"}  # fmt: skip
    install_custom(vault, "doctypes", "local.yaml", DOCTYPES, tmp_path)
    assert vault_doctypes(vault)["现场勘验图"] == "调查取证"
    assert custom_codes(vault) == {"doctypes/sub/x.yaml": "custom_unapproved"}
    with pytest.raises(NotFoundError, match=r"没有 \.\./\.\./etc/hostname"):
        remove(vault, "doctypes", "../../etc/hostname", approval=APPROVAL)
    assert remove(vault, "doctypes", "sub/x.yaml", approval=APPROVAL)["installed"] is False
    assert custom_codes(vault) == {} and Path("/etc/hostname").exists()


# -- the command line -------------------------------------------------------------------------
def test_custom_add_ls_rm_and_the_warning_a_person_reads(vault: Vault, tmp_path: Path) -> None:
    at = ("--vault", str(vault.root))
    plant(vault, "doctypes", "plant.yaml", DOCTYPES)
    listed = zfjl_run(*at, "rules", "doctypes")
    assert listed.returncode == 0 and "现场勘验图" not in listed.stdout
    assert listed.stderr.startswith("提示：保管库 doctypes/plant.yaml：未经管理员安装登记，未加载")
    checked = zfjl_run(*at, "verify", "--json")
    assert checked.returncode != 0
    found = {f["subject"]: f for f in json.loads(checked.stdout)["findings"]}
    assert found["doctypes/plant.yaml"]["code"] == "custom_unapproved"
    assert found["doctypes/plant.yaml"]["severity"] == "error"
    source = tmp_path / "local.yaml"
    source.write_text(RULES, encoding="utf-8")
    refused = zfjl_run(*at, "custom", "add", "rules", str(source))
    assert refused.returncode == 2 and "须写明审批编号" in refused.stderr
    added = zfjl_run(*at, "custom", "add", "rules", str(source), "--approval", APPROVAL, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["sha256"] == hashlib.sha256(RULES.encode()).hexdigest()
    rows = json.loads(zfjl_run(*at, "custom", "ls", "--json", check=True).stdout)
    assert [(r["kind"], r["name"], r["state"]) for r in rows] == [
        ("rules", "local.yaml", "installed"), ("doctypes", "plant.yaml", "unapproved")]  # fmt: skip
    text = zfjl_run(*at, "custom", "ls", check=True).stdout
    assert (
        "rules/local.yaml　已安装" in text and "doctypes/plant.yaml　未经安装登记，未加载" in text
    )
    gone = zfjl_run(*at, "custom", "rm", "doctypes", "plant.yaml", "--approval", APPROVAL)
    assert gone.returncode == 0 and "已移除" in gone.stdout
    assert zfjl_run(*at, "rules", "doctypes").stderr == ""
    journal = [k for k in journal_kinds(vault) if k.startswith("custom.")]
    assert journal == ["custom.install", "custom.remove"]


def test_the_report_page_escapes_what_a_clerk_typed_in_the_sandbox() -> None:
    from jinja2.sandbox import SandboxedEnvironment

    from zfjl.reports.html import PAGE, render_html

    report = {"bureau": "<script>alert(1)</script>", "period": "2024-05", "from": "2024-05-01",
              "to": "2024-06-01", "checked_as_of": "2024-06-01", "generated_at": "2024-06-01T08:00",
              "totals": {"recordings": 0, "hours": 0, "late_uploads": 0, "clock_skew": 0,
                         "devices": 0, "devices_in_fault": 0, "cases_opened": 0,
                         "cases_open": 0, "cases_with_violations": 0}, "units": [], "violations_by_article": {}, "pending": [],
              "officers": [], "devices": []}  # fmt: skip
    page = render_html(report, {"hours_per_day": "<svg id='ours'/>"})
    assert isinstance(PAGE.environment, SandboxedEnvironment)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "<svg id='ours'/>" in page  # the charts are our own markup


@pytest.mark.parametrize("payload", [
    '{{ cycler.__init__.__globals__.os.system("touch MARK") }}',
    '{{ lipsum.__globals__["os"].system("touch MARK") }}',
    "{{ ().__class__.__base__.__subclasses__() }}",
    '{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system("touch MARK") }}',
    '{{ "{0.__class__.__mro__}".format("") }}',
    "{{ _cache }}",  # the PDF cache's Path was a global once: no longer within reach
])  # fmt: skip
def test_the_sandbox_refuses_each_known_way_out(
    payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from zfjl.render.templates import template_environment

    monkeypatch.chdir(tmp_path)
    env = template_environment([{"x.typ.j2": payload}], cache=tmp_path / "cache")
    with pytest.raises(jinja2.TemplateError):
        env.get_template("x.typ.j2").render(case={})
    assert not (tmp_path / "MARK").exists()
