"""The rendered sample documents are fit to be signed (issue 13): no typed names on signature
lines, no raw field values or internal ids, no headers broken per character, every digest whole
on one line, the file number on the cover, a decision that states what art. 23 and the
行政处罚法 require. Read back from the PDFs with pdftotext -layout."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zfjl.errors import MissingData
from zfjl.render import environment, render_typst
from zfjl.render.documents import filing_order
from zfjl.render.markup import cn_date, hms
from zfjl.vault import Vault

from .conftest import CASE_CLOCK, fixed_clock

CASES = ("CASE-2024-031", "CASE-2024-045", "CASE-2024-052")


def layout_lines(path: Path) -> list[str]:
    """The PDF's lines as pdftotext -layout sets them, spaces removed inside each line."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return [re.sub(r"\s+", "", line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rendered(rendered_samples: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every document of the three sample cases (rendered once a session): case id → (case,
    {file name: lines}), and the evidence rows of each case."""
    from zfjl.render.documents import evidence_items

    out: dict[str, Any] = {}
    for case_id in CASES:
        case, paths = rendered_samples[case_id]
        out[case_id] = (case, {p.name: layout_lines(p) for p in paths})
    with Vault.open(rendered_samples["vault"], clock=fixed_clock(CASE_CLOCK)) as v:
        out["evidence"] = {c: evidence_items(v, out[c][0]) for c in CASES}
    yield out


def _doc(rendered: dict[str, Any], case_id: str, part: str) -> list[str]:
    (lines,) = [text for name, text in rendered[case_id][1].items() if part in name]
    return lines


def test_no_typed_name_on_a_signature_line(rendered: dict[str, Any]) -> None:
    checked = 0
    for case_id in CASES:
        case, texts = rendered[case_id]
        names = {s["name"] for d in case["documents"] for s in d.get("signatures", [])}
        names |= {r["witness"] for d in case["documents"] for r in d.get("refusals", [])
                  if r.get("witness")}  # fmt: skip
        for name, lines in texts.items():
            for line in lines:
                if "签名" in line:
                    checked += 1
                    assert not [n for n in names if n.replace(" ", "") in line], (name, line)
    assert checked > 20


def test_no_raw_field_value_or_internal_id_is_printed(rendered: dict[str, Any]) -> None:
    for case_id in CASES:
        case, texts = rendered[case_id]
        ids = {d["id"] for d in case["documents"]}
        for name, lines in texts.items():
            text = "\n".join(lines)
            assert "已载明" not in text, name
            assert not [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)], name
            assert "拒绝签收（拒绝签收）" not in text and "拒绝签名（拒绝签名）" not in text, name


def test_the_cover_shows_the_file_number_not_the_case_id(rendered: dict[str, Any]) -> None:
    for case_id in CASES:
        case, _ = rendered[case_id]
        cover = "\n".join(_doc(rendered, case_id, "案卷封面"))
        assert case["file_number"] in cover and case_id not in cover


def test_the_table_of_contents_has_a_page_column_and_one_line_a_document(
    rendered: dict[str, Any],
) -> None:
    for case_id in CASES:
        case, _ = rendered[case_id]
        lines = _doc(rendered, case_id, "卷内文件目录")
        assert any(re.fullmatch("序号文书名称文号日期页号备注", line) for line in lines)
        rows = [line for line in lines if re.match(r"\d+\D", line)]
        for i, d in enumerate(filing_order(case["documents"]), 1):
            row = next(line for line in rows if line.startswith(f"{i}{d['type']}"))
            # date and 文号 whole on the document's own line: neither wrapped nor spaced out
            assert cn_date(d["date"]) in row, row
            assert d.get("number", "").replace(" ", "") in row, row


def test_the_extraction_list_prints_each_digest_whole_on_a_line(
    rendered: dict[str, Any],
) -> None:
    for case_id in CASES:
        lines = _doc(rendered, case_id, "视听资料提取清单")
        assert any("序号类型格式记录仪制作时间时长制作人证明对象大小（MB）" in line
                   for line in lines)  # fmt: skip
        evidence = rendered["evidence"][case_id]
        assert evidence
        for e in evidence:
            for digest in (e["sha256"], e["sm3"], e["id"]):
                assert any(digest in line for line in lines), digest
            assert any(line == "原文件名" + e["original_name"] for line in lines)
            row = next(line for line in lines if e["proves"] in line)
            assert e["device"] in row and f"{e['size'] / 2**20:.2f}" in row
            if e["duration"]:
                assert hms(e["duration"]) in row
            assert "字节数" + str(e["size"]) in lines  # the exact byte count beside the digests


def test_the_decision_states_party_articles_and_remedies_and_evidence_once(
    rendered: dict[str, Any],
) -> None:
    for case_id in ("CASE-2024-031", "CASE-2024-045"):
        case, _ = rendered[case_id]
        text = "".join(_doc(rendered, case_id, "行政处罚决定书"))
        f = next(d for d in case["documents"] if d["type"] == "行政处罚决定书")["fields"]
        party = case["party"]
        assert party["id_number"] in text and party["address"].replace(" ", "") in text
        violated, basis = f["违反规定"], f.get("处罚依据") or f["适用依据"]
        assert violated != basis
        assert f"违反了{violated}的规定" in text and f"依据{basis}的规定" in text
        assert f"向{case['review_body']}申请行政复议" in text
        assert f"向{case['court']}提起行政诉讼" in text
        assert text.count("询问笔录") == 1, "evidence stated once"


def test_the_prior_notice_states_the_proposed_penalty_and_hearing_as_the_law_words_it(
    rendered: dict[str, Any],
) -> None:
    for case_id, hearing in (("CASE-2024-031", False), ("CASE-2024-045", True)):
        case, _ = rendered[case_id]
        notice = next(d for d in case["documents"] if d["type"] == "行政处罚事先告知书")
        text = "".join(_doc(rendered, case_id, "行政处罚事先告知书"))
        assert notice["fields"]["拟处罚内容"].replace(" ", "") in text
        assert notice["number"] in text
        assert ("有权要求举行听证" in text) is hearing
    case, _ = rendered["CASE-2024-031"]
    notice = next(d for d in case["documents"] if d["type"] == "行政处罚事先告知书")
    without = {**notice, "fields": {k: v for k, v in notice["fields"].items() if k != "拟处罚内容"}}
    with pytest.raises(MissingData, match="拟处罚内容"):
        render_typst(environment(), "行政处罚事先告知书", case, "某局", without)


def test_notices_and_demands_carry_their_own_number_or_a_line_for_it(
    rendered: dict[str, Any],
) -> None:
    case, _ = rendered["CASE-2024-045"]
    for part, doctype in (("催告书", "催告书"), ("先行登记保存通知书", "先行登记保存通知书")):
        doc = next(d for d in case["documents"] if d["type"] == doctype)
        text = "".join(_doc(rendered, "CASE-2024-045", part))
        assert doc["number"] in text
    keep = "".join(_doc(rendered, "CASE-2024-045", "先行登记保存通知书"))
    assert "《先行登记保存物品清单》（株城管登保清〔2024〕045号）" in keep
    demand = next(d for d in case["documents"] if d["type"] == "催告书")
    source = render_typst(environment(), "催告书", case, "某局", {**demand, "number": None})
    assert re.search(r"文号：#line-blank", source)


def test_a_refusal_is_noted_once_and_the_witness_signs_their_own_line(
    rendered: dict[str, Any],
) -> None:
    lines = _doc(rendered, "CASE-2024-045", "送达回证_d-r-notice")
    assert "受送达人签名拒绝签收" in lines
    assert "见证人签名" in lines and "送达人签名" in lines  # empty cells to sign in
    assert any(line.startswith("见证人社区干部黄某") for line in lines)
