"""`zfjl render`: real Typst, real CJK fonts, real PDFs read back with pdftotext."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from zfjl.cases.store import add_document, get_case, import_case, reopen_case
from zfjl.render import CASE_PARTS, RenderError, environment, render_case
from zfjl.render.templates import template_names
from zfjl.vault import Vault

from .conftest import zfjl_run
from .doors import journal_kinds, object_bytes
from .test_custom import install_custom

TEMPLATES = template_names(environment())  # every shipped form
SAMPLES = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"
TZ = ZoneInfo("Asia/Shanghai")


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return re.sub(r"[ \t]+", " ", out.stdout)


def test_every_document_of_the_demolition_case_renders_with_its_data(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    paths = render_case(sample_cases_vault, "CASE-2024-045", tmp_path / "out")
    case = get_case(sample_cases_vault, "CASE-2024-045")
    expected = sum(1 for d in case["documents"] if d["type"] in TEMPLATES) + len(CASE_PARTS)
    assert len(paths) == expected and all(p.suffix == ".pdf" for p in paths)
    texts = {p.name: pdf_text(p) for p in paths}
    for name, text in texts.items():
        assert "株洲市城市管理和综合执法局" in text, name
        assert re.search(r"第 ?1 ?页", text), name
    decision = texts["2024-06-24_行政处罚决定书_d-decision.pdf"]
    for value in ("株城管罚决〔2024〕045", "株洲某某商贸有限公司", "城乡规划法", "责令于 2024 年 7 月 5 日前自行拆除",
                  "行政复议", "2024 年 6 月 24 日"):  # fmt: skip
        assert value.replace(" ", "") in re.sub(r"\s", "", decision), value
    lodged = texts["2024-06-14_送达回证_d-r-notice.pdf"].replace(" ", "")
    assert "留置送达" in lodged and "社区干部黄某" in lodged and "拒绝签收" in lodged
    cover = texts["2024-06-03_案卷封面.pdf"].replace(" ", "")
    assert case["file_number"] in cover and "违法建设" in cover and "永久" in cover
    assert "CASE-2024-045" not in cover  # the bureau's file number, not the vault's case id
    contents = texts["2024-06-03_卷内文件目录.pdf"].replace(" ", "")
    assert all(d["type"] in contents for d in case["documents"])


@pytest.mark.parametrize("case_id", ["CASE-2024-031", "CASE-2024-052"])
def test_the_other_sample_cases_render_with_their_data(
    sample_cases_vault: Vault, tmp_path: Path, case_id: str
) -> None:
    case = get_case(sample_cases_vault, case_id)
    paths = render_case(sample_cases_vault, case_id, tmp_path)
    assert len(paths) == sum(1 for d in case["documents"] if d["type"] in TEMPLATES) + len(
        CASE_PARTS
    )
    for p in paths:
        text = pdf_text(p).replace(" ", "")
        assert case["party"]["name"] in text or case["file_number"] in text, p.name
    numbered = [d for d in case["documents"] if d.get("number") and d["type"] in TEMPLATES]
    for d in numbered:
        (pdf,) = [p for p in paths if p.name.endswith(f"_{d['id']}.pdf")]
        assert d["number"].replace(" ", "") in pdf_text(pdf).replace(" ", ""), d["id"]


def test_extraction_list_carries_sha256_and_sm3_of_each_recording(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    (path,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path, doctype="视听资料提取清单")
    text = pdf_text(path).replace(" ", "").replace("\n", "")
    for link in get_case(sample_cases_vault, "CASE-2024-031")["media"]:
        obj = object_bytes(sample_cases_vault, link["recording"])
        assert hashlib.sha256(obj).hexdigest() in text
        assert hashlib.new("sm3", obj).hexdigest() in text


def test_pdf_is_pdfa_with_fonts_embedded_and_reproducible(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    (first,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path / "a", doctype="询问笔录")
    (second,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path / "b", doctype="询问笔录")
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert b"pdfaid:part" in data
    fonts = subprocess.run(["pdffonts", str(first)], capture_output=True, text=True).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(" yes " in line for line in rows)  # every font embedded
    assert "CJK" in fonts
    kinds = journal_kinds(sample_cases_vault, "case:CASE-2024-031")
    assert kinds.count("case.render") == 2


def test_a_decision_missing_an_article_23_item_is_refused(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    case = get_case(sample_cases_vault, "CASE-2024-031")
    decision = next(d for d in case["documents"] if d["type"] == "行政处罚决定书")
    fields = {k: v for k, v in decision["fields"].items() if k not in ("救济途径和期限", "印章")}
    reopen_case(sample_cases_vault, "CASE-2024-031", reason="测试：决定书缺项")  # archived
    add_document(sample_cases_vault, "CASE-2024-031", {**decision, "fields": fields},
                 reason="测试：决定书缺项")  # fmt: skip
    with pytest.raises(RenderError, match="救济途径和期限、印章"):
        render_case(sample_cases_vault, "CASE-2024-031", tmp_path / "out", doctype="行政处罚决定书")
    assert not list(tmp_path.rglob("*行政处罚决定书*"))


def test_blank_lines_for_what_is_filled_in_by_hand(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    from zfjl.render import environment, render_typst

    case = get_case(sample_cases_vault, "CASE-2024-031")
    interview = next(d for d in case["documents"] if d["type"] == "询问笔录")
    env = environment()
    source = render_typst(env, "询问笔录", case, "某局", interview)
    place_line = next(line for line in source.splitlines() if "地点" in line)
    assert "stroke: (bottom" in place_line  # no place recorded: a line to write it on paper
    with_place = render_typst(env, "询问笔录", case, "某局", {**interview, "place": "建设路 18 号"})
    assert "stroke: (bottom" not in next(line for line in with_place.splitlines() if "地点" in line)
    (path,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path, doctype="询问笔录")
    text = pdf_text(path)
    assert "陈某某" in text and "43020001" in text and "已向被询问人出示执法证件" in text


def test_markup_in_values_is_printed_literally(sample_cases_vault: Vault, tmp_path: Path) -> None:
    case = get_case(sample_cases_vault, "CASE-2024-031")
    case["party"]["name"] = "#set text(red) *张三* $x$ [李四] @ref"
    reopen_case(sample_cases_vault, "CASE-2024-031", reason="测试：标记字符")  # archived
    import_case(sample_cases_vault, {**case, "status": "已结案"}, reason="测试：标记字符")
    (path,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path, doctype="询问笔录")
    assert "#set text(red) *张三* $x$ [李四] @ref" in pdf_text(path)


def test_a_bureau_overrides_a_template_and_undefined_data_is_an_error(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    install_custom(sample_cases_vault, "templates", "询问笔录.typ.j2",
                   '{% extends "_base.typ.j2" %}{% set title = "询问笔录（本局格式）" %}'
                   "{% block body %}被询问人：{{ case.party.name }}{% endblock %}\n", tmp_path)
    (path,) = render_case(sample_cases_vault, "CASE-2024-031", tmp_path, doctype="询问笔录")
    assert "询问笔录（本局格式）" in pdf_text(path).replace(" ", "")
    install_custom(sample_cases_vault, "templates", "询问笔录.typ.j2",
                   '{% extends "_base.typ.j2" %}{% set title = "x" %}'
                   "{% block body %}{{ case.nothing }}{% endblock %}", tmp_path)
    with pytest.raises(RenderError, match="缺少数据"):
        render_case(sample_cases_vault, "CASE-2024-031", tmp_path, doctype="询问笔录")


def test_html_preview(sample_cases_vault: Vault, tmp_path: Path) -> None:
    (path,) = render_case(sample_cases_vault, "CASE-2024-052", tmp_path, doctype="送达回证",
                          formats=("html",))  # fmt: skip
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_render_errors_from_the_command_line(sample_cases_vault: Vault, tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(sample_cases_vault.root)}
    missing = zfjl_run("render", "CASE-2024-052", "询问笔录", "-o", str(tmp_path), env=env)
    assert missing.returncode == 4 and "没有 询问笔录" in missing.stderr
    unknown = zfjl_run("render", "CASE-2024-052", "起诉状", "-o", str(tmp_path), env=env)
    assert unknown.returncode == 4 and "未知的文书类型" in unknown.stderr
    ok = zfjl_run("render", "CASE-2024-052", "送达回证", "-o", str(tmp_path), "--json", env=env)
    assert ok.returncode == 0, ok.stderr


def test_compiled_templates_are_kept_by_source_so_an_edit_is_compiled_anew() -> None:
    """Renders share compiled templates (a process-wide cache); a template of the same name
    with other text — a bureau's edit, another vault's — is never served the old code."""
    from zfjl.render.templates import _COMPILED, template_environment

    def render(text: str) -> str:
        return str(template_environment([{"通知.typ.j2": text}]).get_template("通知.typ.j2").render(n=3))

    assert render("甲 {{ n }}") == "甲 3"
    kept = dict(_COMPILED._code)
    assert render("乙 {{ n * 2 }}") == "乙 6"
    assert render("甲 {{ n }}") == "甲 3"
    env = template_environment([{"通知.typ.j2": "乙 {{ n * 2 }}"}])
    assert env.get_template("通知.typ.j2").render(n=1) == "乙 2"
    assert len(_COMPILED._code) == len(kept)  # one entry per name and file, replaced in place
