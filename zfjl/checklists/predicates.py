"""The small set of check kinds every rule is written in.

Each predicate takes the prepared case (`CaseView`), the rule's parameters and the context
(today, the working-day calendar) and returns an `Outcome`: passed, failed, not applicable,
or unknown (a deadline the calendar cannot count) — with what was expected and what was found.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zfjl.workdays import WorkdayCalendar

PASS, FAIL, NA, UNKNOWN = "pass", "fail", "na", "unknown"


@dataclass(slots=True)
class Outcome:
    status: str  # pass | fail | na | unknown
    expected: str
    found: str


@dataclass(frozen=True)
class Context:
    today: dt.date
    calendar: WorkdayCalendar
    tz: dt.tzinfo


def when_of(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class CaseView:
    """A case indexed for checking: documents by type and id, receipts by served document."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.docs: list[dict[str, Any]] = case.get("documents", [])
        self.media: list[dict[str, Any]] = case.get("media", [])
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.receipts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in self.docs:
            self.by_type[d["type"]].append(d)
            if d["type"] == "送达回证" and d.get("serves"):
                self.receipts[d["serves"]].append(d)

    def of_types(
        self, types: Iterable[str], where: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        docs = [d for t in types for d in self.by_type.get(t, ())]
        return [d for d in docs if matches(d, where)] if where else docs

    def links_for(self, doc: dict[str, Any], activities: Iterable[str]) -> list[dict[str, Any]]:
        acts = set(activities)
        return [m for m in self.media
                if m.get("document") == doc["id"] or (not m.get("document") and m["activity"] in acts)]  # fmt: skip


def value_of(doc: dict[str, Any], name: str) -> Any:
    """A document's top-level field (date, method…) or one of its `fields`."""
    if name in doc:
        return doc[name]
    return doc.get("fields", {}).get(name)


def matches(doc: dict[str, Any], where: dict[str, Any] | None) -> bool:
    for key, want in (where or {}).items():
        have = value_of(doc, key)
        if isinstance(want, list) and have not in want:
            return False
        if not isinstance(want, list) and have != want:
            return False
    return True


def label(doc: dict[str, Any]) -> str:
    return f"{doc['type']}（{doc.get('number') or doc['id']}）"


def _per_document(
    view: CaseView, params: dict[str, Any], check: Callable[[dict[str, Any]], str | None]
) -> tuple[list[dict[str, Any]], list[str]]:
    docs = view.of_types(params["types"], params.get("where"))
    problems = [f"{label(d)}：{p}" for d in docs if (p := check(d))]
    return docs, problems


def _result(docs: list[Any], problems: list[str], expected: str, what: str) -> Outcome:
    if not docs:
        return Outcome(NA, expected, f"本案无{what}")
    if problems:
        return Outcome(FAIL, expected, "；".join(problems))
    return Outcome(PASS, expected, f"{len(docs)} 份均符合")


# -- documents --------------------------------------------------------------------------------
def document_present(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    if "all_of" in p:
        missing = [t for t in p["all_of"] if not view.of_types([t], p.get("where"))]
        expected = "、".join(p["all_of"])
        return (
            Outcome(FAIL, expected, f"缺少：{'、'.join(missing)}")
            if missing
            else Outcome(PASS, expected, "齐全")
        )
    types = p["any_of"]
    found = view.of_types(types, p.get("where"))
    expected = " 或 ".join(types)
    return (
        Outcome(PASS, expected, label(found[0])) if found else Outcome(FAIL, expected, "未见该文书")
    )


def fields_present(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    def check(doc: dict[str, Any]) -> str | None:
        missing = [f for f in p["fields"] if value_of(doc, f) in (None, "", [], False)]
        return f"缺少 {'、'.join(missing)}" if missing else None

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, "载明：" + "、".join(p["fields"]), "该文书")


def signatures(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    def check(doc: dict[str, Any]) -> str | None:
        missing = []
        for role in p["roles"]:
            signed = [s for s in doc.get("signatures", []) if s["role"] == role]
            if signed and (not p.get("dated") or all(s.get("date") for s in signed)):
                continue
            if signed:
                missing.append(f"{role}未注明日期")
                continue
            refused = [r for r in doc.get("refusals", []) if r["role"] == role]
            if refused and p.get("refusal_allowed", True):
                if p.get("refusal_needs_witness") and not refused[0].get("witness"):
                    missing.append(f"{role}拒签但无见证人")
                continue
            missing.append(
                f"无{role}签名" + ("或拒签注明" if p.get("refusal_allowed", True) else "")
            )
        return "、".join(missing) or None

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, "签名（或注明拒签）：" + "、".join(p["roles"]), "该文书")


def officers(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    need = int(p.get("min", 2))

    def check(doc: dict[str, Any]) -> str | None:
        people = doc.get("officers", [])
        ok = [o for o in people if o.get("cert") and o.get("shown")]
        if len(ok) >= need:
            return None
        gaps = [o["name"] for o in people if not o.get("cert")]
        not_shown = [o["name"] for o in people if o.get("cert") and not o.get("shown")]
        detail = f"载明证件并出示的执法人员 {len(ok)} 名"
        detail += f"（{'、'.join(gaps)}无证件号）" if gaps else ""
        detail += f"（{'、'.join(not_shown)}未注明出示）" if not_shown else ""
        return detail

    docs, problems = _per_document(view, p, check)
    return _result(
        docs, problems, f"至少 {need} 名执法人员，载明姓名、证件号及出示情况", "调查取证笔录"
    )


def served(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    def check(doc: dict[str, Any]) -> str | None:
        receipts = view.receipts.get(doc["id"], [])
        if not receipts:
            return "无送达回证"
        if not any(r.get("received_at") for r in receipts):
            return "送达回证未注明收到日期"
        return None

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, "每份须送达的文书都有载明收到日期的送达回证", "须送达的文书")


# -- media ------------------------------------------------------------------------------------
def media_linked(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    kinds = set(p.get("kinds", ["video", "photo", "audio"]))

    def check(doc: dict[str, Any]) -> str | None:
        links = [m for m in view.links_for(doc, p.get("activities", [])) if m["kind"] in kinds]
        return None if links else "未关联音像记录"

    docs, problems = _per_document(view, p, check)
    names = {"video": "录像", "photo": "照片", "audio": "录音"}
    return _result(docs, problems, "关联" + "或".join(names[k] for k in sorted(kinds)), "该文书")


def _gaps(
    start: dt.datetime,
    end: dt.datetime,
    spans: list[tuple[dt.datetime, dt.datetime]],
    tolerance: float,
) -> list[tuple[dt.datetime, dt.datetime]]:
    gaps = []
    cursor = start
    for s, e in sorted(spans):
        if s > cursor and (s - cursor).total_seconds() > tolerance:
            gaps.append((cursor, min(s, end)))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end and (end - cursor).total_seconds() > tolerance:
        gaps.append((cursor, end))
    return gaps


def _clock(t: dt.datetime, tz: dt.tzinfo) -> str:
    return t.astimezone(tz).strftime("%H:%M:%S")


def video_coverage(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """The union of the linked videos' spans must cover the document's start–end."""
    tolerance = float(p.get("tolerance_seconds", 30))

    def check(doc: dict[str, Any]) -> str | None:
        start, end = when_of(doc.get("start")), when_of(doc.get("end"))
        if not start or not end:
            return "未载明起止时间，无法核对录像覆盖"
        links = [m for m in view.links_for(doc, p.get("activities", [])) if m["kind"] == "video"]
        if not links:
            return "无录像"
        spans = [(when_of(m["start"]), when_of(m["end"])) for m in links if m.get("start")]
        gaps = _gaps(start, end, [(s, e) for s, e in spans if s and e], tolerance)
        if not gaps:
            return None
        text = "、".join(f"{_clock(a, ctx.tz)}–{_clock(b, ctx.tz)}（{(b - a).total_seconds() / 60:.1f} 分钟）"
                        for a, b in gaps)  # fmt: skip
        return f"录像未覆盖 {text}"

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, "录像连续覆盖文书载明的起止时间", "该文书")


def media_on_time(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = "关联的音像记录均在 2 个工作日内存储"
    if not view.media:
        return Outcome(NA, expected, "本案未关联音像记录")
    late = sorted({m["recording"][:12] for m in view.media if m.get("late") is True})
    unknown = sorted({m["recording"][:12] for m in view.media if m.get("late") is None})
    if late:
        return Outcome(FAIL, expected, f"逾期存储：{'、'.join(late)}")
    if unknown:
        return Outcome(UNKNOWN, expected, f"无法判断是否逾期：{'、'.join(unknown)}")
    return Outcome(PASS, expected, f"{len(view.media)} 条均按时存储")


def media_described(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = "每条音像记录载明制作方法、时间、制作人和证明对象"
    if not view.media:
        return Outcome(NA, expected, "本案未关联音像记录")
    problems = []
    for m in view.media:
        missing = [name for key, name in (("proves", "证明对象"), ("start", "制作时间"))
                   if not m.get(key)]  # fmt: skip
        if not (m.get("maker") or m.get("officer")):
            missing.append("制作人")
        if missing:
            problems.append(f"{m['recording'][:12]}（{m['activity']}）缺少{'、'.join(missing)}")
    return (
        Outcome(FAIL, expected, "；".join(problems))
        if problems
        else Outcome(PASS, expected, "齐全")
    )


def transcript(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = "声音资料附有文字记录"
    audio = [m for m in view.media if m["kind"] == "audio"]
    if not audio:
        return Outcome(NA, expected, "本案无录音")
    missing = [m["recording"][:12] for m in audio if not m.get("transcript")]
    return (
        Outcome(FAIL, expected, f"无文字记录：{'、'.join(missing)}")
        if missing
        else Outcome(PASS, expected, f"{len(audio)} 条录音均有文字记录")
    )


def has_video(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = "执法过程有执法记录仪录音录像"
    videos = [m for m in view.media if m["kind"] in ("video", "audio")]
    return Outcome(PASS, expected, f"{len(videos)} 条") if videos else Outcome(FAIL, expected, "无")


# -- time -------------------------------------------------------------------------------------
def _endpoint(view: CaseView, spec: dict[str, Any], anchor: dict[str, Any] | None = None) -> list[
        tuple[dict[str, Any] | None, dt.datetime]]:  # fmt: skip
    """Times an end of a deadline points at: a case field, documents' fields, or the receipts
    that served those documents (`via: served`)."""
    if "case_field" in spec:
        t = when_of(view.case.get(spec["case_field"]))
        return [(None, t)] if t else []
    docs = view.of_types([spec["type"]], spec.get("where"))
    if spec.get("via") == "served":
        docs = [r for d in docs for r in view.receipts.get(d["id"], [])]
    if anchor is not None and spec.get("link") == "serves":
        docs = [d for d in docs if d.get("serves") == anchor["id"]]
    field = spec.get("field", "date")
    return [(d, t) for d in docs if (t := when_of(value_of(d, field)))]


def _limit(start: dt.datetime, n: int, unit: str, ctx: Context) -> dt.datetime | dt.date | None:
    if unit == "hours":
        return start + dt.timedelta(hours=n)
    day = start.astimezone(ctx.tz).date()
    if unit == "days":
        return day + dt.timedelta(days=n)
    return ctx.calendar.nth_workday_after(day, n)


UNIT_NAMES = {"hours": "小时", "days": "日", "working_days": "个工作日"}


def _on_or_before(t: dt.datetime, limit: dt.datetime | dt.date, tz: dt.tzinfo) -> bool:
    if isinstance(limit, dt.datetime):
        return t <= limit
    return t.astimezone(tz).date() <= limit


def _on_or_after(t: dt.datetime, limit: dt.datetime | dt.date, tz: dt.tzinfo) -> bool:
    if isinstance(limit, dt.datetime):
        return t >= limit
    return t.astimezone(tz).date() >= limit


def deadline(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    unit, n = p["unit"], int(p.get("max", p.get("min", 0)))
    is_max = "max" in p
    expected = f"{p['describe']}：{'不超过' if is_max else '不少于'} {n} {UNIT_NAMES[unit]}"
    starts = _endpoint(view, p["from"])
    if not starts:
        return Outcome(NA, expected, "起算事项未发生")
    problems, unknown, checked = [], [], 0
    for anchor, start in starts:
        limit = _limit(start, n, unit, ctx)
        ends = _endpoint(view, p["to"], anchor)
        if limit is None:
            unknown.append(f"工作日历未覆盖 {start.date()} 之后的日期")
            continue
        if not ends:
            if (
                is_max
                and p.get("overdue_if_missing")
                and not _on_or_before(
                    dt.datetime.combine(ctx.today, dt.time(), ctx.tz), limit, ctx.tz
                )
            ):
                problems.append(f"期限 {_fmt(limit)} 已过，仍未{p['to_label']}")
            continue
        end = min(t for _, t in ends)
        checked += 1
        ok = _on_or_before(end, limit, ctx.tz) if is_max else _on_or_after(end, limit, ctx.tz)
        if not ok:
            problems.append(
                f"{_fmt_start(start, ctx)} 起算，期限 {_fmt(limit)}，实际 {_fmt_start(end, ctx)}"
            )
    if problems:
        return Outcome(FAIL, expected, "；".join(problems))
    if unknown:
        return Outcome(UNKNOWN, expected, "；".join(unknown))
    if not checked:
        return Outcome(NA, expected, f"尚未{p['to_label']}（未到期限）")
    return Outcome(PASS, expected, "在期限内")


def _fmt(limit: dt.datetime | dt.date) -> str:
    return limit.strftime("%Y-%m-%d %H:%M") if isinstance(limit, dt.datetime) else limit.isoformat()


def _fmt_start(t: dt.datetime, ctx: Context) -> str:
    return t.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")


def order(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = f"{p['before']['type']}先于{'、'.join(p['after'])}"
    later = view.of_types(p["after"])
    if not later:
        return Outcome(NA, expected, "本案无后续文书")
    befores = [t for _, t in _endpoint(view, p["before"])]
    problems = []
    for doc in later:
        t = when_of(value_of(doc, "date"))
        if not befores:
            problems.append(f"{label(doc)}之前未见{p['before']['type']}")
        elif t and min(befores) > t:
            problems.append(f"{label(doc)}早于{p['before']['type']}")
    return (
        Outcome(FAIL, expected, "；".join(problems))
        if problems
        else Outcome(PASS, expected, "顺序正确")
    )


PREDICATES: dict[str, Callable[[CaseView, dict[str, Any], Context], Outcome]] = {
    "document_present": document_present,
    "fields_present": fields_present,
    "signatures": signatures,
    "officers": officers,
    "served": served,
    "media_linked": media_linked,
    "video_coverage": video_coverage,
    "media_on_time": media_on_time,
    "media_described": media_described,
    "transcript": transcript,
    "has_video": has_video,
    "deadline": deadline,
    "order": order,
}
