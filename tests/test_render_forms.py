"""Every document type has a form (issue 27), and every page of it is one a clerk would sign:
the sample cases and a maximal case (every field at its longest, long Q/A records and lists)
rendered once each, read back with pdftotext, checked with qpdf and poppler."""

from __future__ import annotations

import functools
import glob
import itertools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from zfjl.cases.doctypes import DOCTYPES
from zfjl.cases.io import parse_case
from zfjl.cases.store import get_case
from zfjl.render.documents import documents_to_render, filing_order, render_pairs
from zfjl.render.markup import cn_date
from zfjl.render.templates import CASE_PARTS, builtin_template_dirs, environment, template_names
from zfjl.vault import Vault

from .doors import catalog_rows

SAMPLES = ("CASE-2024-031", "CASE-2024-045", "CASE-2024-052")
BUREAU = "株洲市城市管理和综合执法局"
TEMPLATE_DIR = builtin_template_dirs()[-1]


@functools.cache
def pdftotext(path: Path, mode: str) -> str:
    """What `pdftotext MODE PATH -` prints, read once: the PDFs of this module are rendered
    once (a session's or a module's fixture) and never changed, and several tests read each."""
    return subprocess.run(["pdftotext", mode, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def page_texts(path: Path) -> list[str]:
    """Each page's text, whitespace removed (pdftotext separates pages with a form feed)."""
    out = pdftotext(path, "-layout")
    return [re.sub(r"\s+", "", page) for page in out.split("\f")[:-1]]


def flat(path: Path) -> str:
    return "".join(page_texts(path))


# --- the sample cases, rendered once ------------------------------------------------------


@pytest.fixture(scope="module")
def samples(rendered_samples: dict[str, Any]) -> dict[str, Any]:
    """case id → (case, render result) for the three sample cases, rendered once a session."""
    return rendered_samples


def _pdf(samples: dict[str, Any], case_id: str, part: str) -> Path:
    (path,) = [p for p in samples[case_id][1] if part in p.name]
    return path


def test_every_document_type_has_a_form() -> None:
    assert set(DOCTYPES) <= template_names(environment())


def test_every_document_of_the_sample_cases_is_made(samples: dict[str, Any]) -> None:
    for case_id in SAMPLES:
        case, result = samples[case_id]
        assert result.skipped == [], [s.as_dict() for s in result.skipped]
        assert len(result) == len(case["documents"]) + len(CASE_PARTS)


def check_pdf(path: Path) -> None:
    """qpdf finds nothing wrong, poppler draws and reads it without a word on stderr, and it
    says it is PDF/A-2b."""
    qpdf = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert qpdf.returncode == 0 and "No syntax or stream encoding errors" in qpdf.stdout, (
        path.name, qpdf.stdout, qpdf.stderr)  # fmt: skip
    for tool in (["pdftoppm", "-r", "8", "-png", str(path)], ["pdfinfo", str(path)]):
        run = subprocess.run(tool, capture_output=True)
        assert run.returncode == 0 and run.stderr == b"", (path.name, tool[0], run.stderr)
    data = path.read_bytes()
    assert b"<pdfaid:part>2</pdfaid:part>" in data and b"<pdfaid:conformance>B" in data


def check_page_numbers(path: Path) -> int:
    pages = page_texts(path)
    for i, text in enumerate(pages, 1):
        assert f"第{i}页共{len(pages)}页" in text, (path.name, i)
    return len(pages)


def test_sample_pdfs_are_clean_pdfa_with_consecutive_page_numbers(
    samples: dict[str, Any],
) -> None:
    for case_id in SAMPLES:
        for path in samples[case_id][1]:
            check_pdf(path)
            check_page_numbers(path)


def test_decisions_address_the_party_as_a_person_or_a_unit(samples: dict[str, Any]) -> None:
    person = flat(_pdf(samples, "CASE-2024-031", "行政处罚决定书"))
    unit = flat(_pdf(samples, "CASE-2024-045", "行政处罚决定书"))
    assert "你的上述行为" in person and "你单位" not in person
    assert "你单位的上述行为" in unit
    for case_id in SAMPLES:
        for path in samples[case_id][1]:
            assert "你（单位）" not in flat(path), path.name


def test_a_fine_says_where_to_pay_and_what_a_late_payment_costs(samples: dict[str, Any]) -> None:
    fine = flat(_pdf(samples, "CASE-2024-031", "行政处罚决定书"))
    assert (
        "罚款缴至" in fine and "每日按罚款数额的百分之三加处罚款" in fine and "第七十二条" in fine
    )
    demolition = flat(_pdf(samples, "CASE-2024-045", "行政处罚决定书"))
    assert "加处罚款" not in demolition  # no fine, no surcharge


def test_approval_forms_name_their_signers_and_invent_no_opinion(
    samples: dict[str, Any],
) -> None:
    start = flat(_pdf(samples, "CASE-2024-031", "立案审批表"))
    for role, name, opinion in (("承办人", "李明", "建议立案"), ("负责人", "王强", "同意"),
                                ("局长", "赵刚", "同意立案")):  # fmt: skip
        assert f"{role}意见{opinion}{role}：{name}签名：" in start
    closing = flat(_pdf(samples, "CASE-2024-031", "结案审批表"))
    assert "负责人意见罚款已缴纳，同意结案负责人：王强签名：" in closing
    # no opinion on file: a space to write it in, never one made up
    assert "承办人意见签名：日期：" in closing and "局长意见签名：日期：" in closing


def test_records_put_the_interviewee_officers_and_a_signature_line_on_every_page(
    samples: dict[str, Any],
) -> None:
    text = flat(_pdf(samples, "CASE-2024-031", "询问笔录"))
    for part in ("被询问人：陈某某", "身份证号码：430201198001010011", "询问人：李明",
                 "记录人：", "与本案关系：当事人", "被询问人签名：", "执法人员签名："):  # fmt: skip
        assert part in text, part


def test_the_table_of_contents_files_the_closing_documents_last(samples: dict[str, Any]) -> None:
    case, _ = samples["CASE-2024-045"]
    text = flat(_pdf(samples, "CASE-2024-045", "卷内文件目录"))
    assert text.index("案源告知记录") < text.index("结案审批表") < text.index("归档记录")
    assert [d["type"] for d in filing_order(case["documents"])][-2:] == ["结案审批表", "归档记录"]


# --- the maximal case ---------------------------------------------------------------------

LONG = "株洲市天元区珠江北路某某国际商务中心东塔第二十八层二八零八室"  # 31 characters
FIELD_RE = re.compile(r'f(?:\.get\(|\[)"([^"]+)"')
DATE_FIELD_RE = re.compile(r'f(?:\.get\(|\[)"([^"]+)"\)?\]?\)? \| cn_date')
PARTIAL_RE = re.compile(r'{%-? (?:extends|include) "([^"]+)"')
# Fields a form deliberately does not print as written (docs/render.md).
NOT_PRINTED = {
    "陈述申辩权",
    "听证权",  # marks for the checks: the notice states the rights itself
    "事实和证据",
    "适用依据",
    "救济途径和期限",  # stated apart (违法事实/证据, 处罚依据) or in the statute's words
    "限期",  # the 公告内容 says it
    "决定日期",  # the 落款's date
}


def template_fields(name: str, seen: set[str] | None = None) -> tuple[set[str], set[str]]:
    """The fields a template (with its partials) reads, and those it prints as dates."""
    seen = seen if seen is not None else set()
    if name in seen:
        return set(), set()
    seen.add(name)
    text = (TEMPLATE_DIR / name).read_text("utf-8")
    fields, dates = set(FIELD_RE.findall(text)), set(DATE_FIELD_RE.findall(text))
    for partial in PARTIAL_RE.findall(text):
        more, more_dates = template_fields(partial, seen)
        fields |= more
        dates |= more_dates
    return fields, dates


def field_value(doctype: str, name: str, dates: set[str]) -> Any:
    if name in dates or (name.endswith(("期限", "日期", "时间")) and name not in (
            "履行方式和期限", "救济途径和期限", "许可期限")):  # fmt: skip
        return "2024-12-31"
    if name == "延长天数":
        return 30
    return f"{name}为{LONG}{LONG}"[:60]


def maximal_case() -> dict[str, Any]:
    """Every document type, every field at its longest: 笔录 with 24 questions, 清单 with 45
    items, long names, addresses, 文号 and opinions."""
    documents: list[dict[str, Any]] = []
    for i, doctype in enumerate(sorted(DOCTYPES), 1):
        fields, dates = template_fields(f"{doctype}.typ.j2")
        doc: dict[str, Any] = {
            "id": f"d-{i}", "type": doctype,
            "number": f"株洲市城市管理和综合执法局天元区大队字〔2024〕第{i:06d}号",
            "date": f"2024-07-{i % 28 + 1:02d}T09:00", "start": f"2024-07-{i % 28 + 1:02d}T09:00",
            "end": f"2024-07-{i % 28 + 1:02d}T11:59", "place": LONG + "门前人行道及其周边区域",
            "officers": [{"name": f"欧阳{n}明", "cert": f"4302000{n}2024", "shown": True}
                         for n in range(1, 4)],
            "recorder": "司马长风",
            "fields": {name: field_value(doctype, name, dates) for name in sorted(fields)},
            "signatures": [{"role": role, "name": f"诸葛{role}", "date": "2024-07-30T16:00",
                            "opinion": f"{role}意见：" + LONG * 3}
                           for role in ("承办人", "负责人", "局长")],
        }  # fmt: skip
        if doctype in ("询问笔录", "证人证言", "陈述申辩笔录", "听证笔录"):
            doc["interviewee"] = {
                "name": "欧阳司马诸葛上官", "sex": "女", "age": 101, "id_number": "43020119800101001X",
                "employer": LONG + "总经理", "address": LONG, "phone": "0731-28888888转8888",
                "relation": "当事人的法定代表人委托的代理人",
            }  # fmt: skip
            doc["qa"] = [{"q": f"第{n}问：{LONG}{LONG}？", "a": f"第{n}答：{LONG * 4}。"}
                         for n in range(1, 25)]  # fmt: skip
        if doctype.endswith("清单") or "查封扣押" in doctype:
            doc["items"] = [{"name": f"第{n}项不锈钢移动摊位车（带遮阳棚）", "spec": "2000×1200×1800mm",
                             "quantity": 100000, "unit": "台", "condition": "八成新有锈迹",
                             "note": "现场清点拍照"} for n in range(1, 46)]  # fmt: skip
        documents.append(doc)
    served = next(d["id"] for d in documents if d["type"] == "行政处罚决定书")
    for d in documents:
        if d["type"] in ("送达回证", "委托函"):
            d["serves"], d["method"], d["received_at"] = served, "直接", "2024-07-30T10:00"
    case = {
        "case": "CASE-2024-999", "kind": "处罚", "procedure": "一般", "cause": "未经批准擅自设置大型户外广告设施及违法建设",
        "party": {"type": "单位", "name": "株洲" + LONG[:20] + "餐饮管理服务有限责任公司",
                  "representative": "欧阳上官", "address": LONG + LONG[:10],
                  "id_number": "91430200MA4L5X0A3K", "phone": "0731-28888888"},
        "origin": "投诉举报", "flags": {"major": True, "legal_review": True},
        "opened_at": "2024-06-03T14:00", "status": "办理中", "retention": "永久",
        "unit": "天元区大队一中队", "file_number": "株洲市城市管理和综合执法局案〔2024〕第000999号",
        "review_body": "株洲市天元区人民政府行政复议办公室", "court": "株洲市天元区人民法院（行政审判庭）",
        "documents": documents,
    }  # fmt: skip
    return parse_case(yaml.safe_dump(case, allow_unicode=True), "maximal.yaml")


@pytest.fixture(scope="module")
def maximal(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Path]]:
    case = maximal_case()
    env = environment()
    pairs = documents_to_render(case, None, template_names(env))
    result = render_pairs(env, case, BUREAU, pairs, tmp_path_factory.mktemp("maximal"))
    return case, list(result)


def overflowing_words(path: Path) -> list[str]:
    """Words set outside the text area (left and right margins; 18 mm on a landscape page).
    Half an em of slack: a CJK bracket opening a line is set with its blank half in the margin
    (pdftotext's box is the glyph's advance, not its ink)."""
    out = pdftotext(path, "-bbox")
    bad = []
    for page in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.S):
        width, height = float(page[0]), float(page[1])
        mm = 72 / 25.4
        left, right = (28 * mm, 26 * mm) if width < height else (18 * mm, 18 * mm)
        for x0, x1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            page[2],
        ):
            if float(x0) < left - 6.5 or float(x1) > width - right + 6.5:
                bad.append(word)
    return bad


CJK_PUNCT = "》）」】，。、；：“”‘’（《「【〔〕"


def overlapping_words(path: Path) -> list[tuple[str, str]]:
    """Pairs of words set over each other on a line (a value run into the next label)."""
    out = pdftotext(path, "-bbox")
    bad = []
    for page in re.findall(r"<page [^>]*>(.*?)</page>", out, re.S):
        words = [(float(y0), float(x0), float(x1), float(y1), w) for x0, y0, x1, y1, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page)]  # fmt: skip
        lines: dict[int, list[tuple[float, float, str]]] = {}
        for y0, x0, x1, _, w in words:
            lines.setdefault(round(y0), []).append((x0, x1, w))
        for line in lines.values():
            line.sort()
            for (_, a1, a), (b0, _, b) in itertools.pairwise(line):
                # CJK punctuation side by side is set up to an em closer than its advance ("》（")
                slack = 12.5 if a[-1:] in CJK_PUNCT or b[:1] in CJK_PUNCT else 1.5
                if a1 - b0 > slack:
                    bad.append((a, b))
    return bad


def test_the_maximal_case_renders_every_type_within_its_margins(
    maximal: tuple[dict[str, Any], list[Path]],
) -> None:
    case, paths = maximal
    assert len(paths) == len(case["documents"]) + len(CASE_PARTS)
    for path in paths:
        assert overflowing_words(path) == [], path.name
        assert overlapping_words(path) == [], path.name
        check_page_numbers(path)


def test_the_maximal_case_pdfs_are_clean(maximal: tuple[dict[str, Any], list[Path]]) -> None:
    for path in maximal[1]:
        check_pdf(path)


def test_every_field_the_case_has_is_printed(maximal: tuple[dict[str, Any], list[Path]]) -> None:
    case, paths = maximal
    by_id = {p.stem.rsplit("_", 1)[-1]: p for p in paths}
    for doc in case["documents"]:
        text = flat(by_id[doc["id"]])
        for name, value in doc["fields"].items():
            if name in NOT_PRINTED:
                continue
            shown = cn_date(value) if value == "2024-12-31" else str(value)
            assert shown in text or str(value) in text, (doc["type"], name)
        if doc.get("number"):
            assert doc["number"] in text, doc["type"]


def test_long_records_continue_on_numbered_pages_each_signed(
    maximal: tuple[dict[str, Any], list[Path]],
) -> None:
    case, paths = maximal
    doc = next(d for d in case["documents"] if d["type"] == "询问笔录")
    (path,) = [p for p in paths if p.stem.endswith("_" + doc["id"])]
    pages = page_texts(path)
    assert len(pages) >= 3
    for i, page in enumerate(pages, 1):
        assert "被询问人签名：" in page and "执法人员签名：" in page and "记录人签名：" in page
        assert ("询问笔录（附页）" in page) is (i > 1)
    text = "".join(pages)
    for part in ("被询问人：欧阳司马诸葛上官", "性别：女", "年龄：101", "43020119800101001X",
                 "与本案关系：当事人的法定代表人委托的代理人", "记录人：司马长风"):  # fmt: skip
        assert part in text, part
    assert all(f"问：第{n}问" in text and f"答：第{n}答" in text for n in range(1, 25))


def test_long_lists_repeat_their_header_on_every_page(
    maximal: tuple[dict[str, Any], list[Path]],
) -> None:
    case, paths = maximal
    for doctype in ("先行登记保存物品清单", "抽样物品清单", "调取证据清单"):
        doc = next(d for d in case["documents"] if d["type"] == doctype)
        (path,) = [p for p in paths if p.stem.endswith("_" + doc["id"])]
        pages = page_texts(path)
        assert len(pages) >= 2, doctype
        for page in pages:
            assert "序号名称规格（型号）数量单位" in page, doctype
            assert "当事人签名：" in page and "见证人签名：" in page
        text = "".join(pages)
        assert all(f"第{n}项不锈钢移动摊位车" in text for n in range(1, 46)), doctype
        assert "共45项" in text


def test_a_list_prints_the_items_of_the_case(samples: dict[str, Any]) -> None:
    case, _ = samples["CASE-2024-045"]
    keep = next(d for d in case["documents"] if d["type"] == "先行登记保存物品清单")
    text = flat(_pdf(samples, "CASE-2024-045", "先行登记保存物品清单"))
    for item in keep["items"]:
        assert item["name"].replace(" ", "") in text and item["unit"] in text
    assert f"共{len(keep['items'])}项" in text and "保存地点：株洲市天元区珠江北路66号楼顶" in text


def test_the_extraction_list_never_says_zero_mb_nor_leaves_the_maker_blank(
    sample_cases_vault: Vault,
) -> None:
    from zfjl.render.documents import evidence_items
    from zfjl.render.markup import mb

    assert mb(4400) == "0.0042" and mb(9000) == "0.0086" and mb(1234567890) == "1177.38"
    case = get_case(sample_cases_vault, "CASE-2024-031")
    for link in case["media"]:
        link.pop("maker", None)  # the case names no maker: the recording's officer is printed
    rows = evidence_items(sample_cases_vault, case)
    officers = {r["id"]: r["officer"] for r in catalog_rows(sample_cases_vault, "recordings")}
    assert rows and all(r["maker"] == officers[r["id"]] for r in rows)
    assert any(r["maker"] for r in rows)


ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artefacts" / "forms"


def test_every_page_of_one_full_case_is_kept_as_an_image(samples: dict[str, Any]) -> None:
    """The pages of CASE-2024-045 (every document of a demolition case, 30-odd forms) as PNG
    images under build/test-artefacts/forms/, for a person to look at after a run; each page
    must come out as an image (a PDF pdftoppm cannot draw fails here)."""
    _, result = samples["CASE-2024-045"]
    target = ARTEFACTS / "CASE-2024-045"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for pdf in result.files:
        if pdf.suffix != ".pdf":
            continue
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(target / pdf.stem)],
                       check=True, capture_output=True)  # fmt: skip
        pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout)[1])  # fmt: skip
        assert len(list(target.glob(f"{glob.escape(pdf.stem)}*.png"))) == pages, pdf.name
