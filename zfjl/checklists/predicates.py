"""The small set of check kinds every rule is written in.

Each predicate takes the prepared case (`CaseView`), the rule's parameters and the context
(today, the working-day calendar) and returns an `Outcome`: passed, failed, not applicable,
or unknown (a deadline the calendar cannot count) — with what was expected and what was found.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zfjl.workdays import WorkdayCalendar

PASS, FAIL, NA, UNKNOWN, PENDING, WARN = "pass", "fail", "na", "unknown", "pending", "warn"
# The regulation's art. 23 (7): decisions bear this seal unless the vault names its bureau.
REGULATION_BUREAU = "株洲市城市管理和综合执法局"
OPEN = "办理中"


@dataclass(slots=True)
class Outcome:
    status: str  # pass | fail | na | unknown | pending
    expected: str
    found: str
    due: dt.date | None = None  # pending: the day the requirement falls due
    missing: bool = False  # failed only because something has not been done (yet)


# 行政处罚法第六十三条's 较大数额罚款 for a hearing, set by the province (元, "以上" includes the
# figure): Hunan's, by party type (docs/rules.md gives the source); vault settings
# check.hearing_fine_individual and check.hearing_fine_organisation override them.
HEARING_FINES = {"个人": 1000.0, "单位": 20000.0}


@dataclass(frozen=True)
class Context:
    today: dt.date
    calendar: WorkdayCalendar
    tz: dt.tzinfo
    bureau: str = REGULATION_BUREAU
    hearing_fines: Mapping[str, float] = field(default_factory=lambda: dict(HEARING_FINES))


def when_of(value: Any, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """A stored time (ISO 8601); a bare date or naive time is read in `tz` when given."""
    if not value or not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t.replace(tzinfo=tz) if tz is not None and t.tzinfo is None else t


class CaseView:
    """A case indexed for checking: documents by type and id, receipts by served document."""

    def __init__(self, case: dict[str, Any], skewed: frozenset[str] = frozenset()) -> None:
        self.case = case
        self.docs: list[dict[str, Any]] = case.get("documents", [])
        self.media: list[dict[str, Any]] = case.get("media", [])
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.receipts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in self.docs:
            self.by_type[d["type"]].append(d)
            if d["type"] == "送达回证" and d.get("serves"):
                self.receipts[d["serves"]].append(d)
        # Recordings whose time is in doubt: flagged for clock skew at ingest.
        self.skewed = skewed | {m["recording"] for m in self.media
                                if m.get("clock_skew") and m.get("recording")}  # fmt: skip
        self.is_open = case.get("status", OPEN) == OPEN
        self._reached: int | None = None

    @property
    def reached(self) -> int:
        """How far the case has got: the index (in STAGES) of the latest stage any of its
        documents belongs to, leaving out those made at any stage (receipts, orders to correct…)."""
        if self._reached is None:
            from zfjl.checklists.progress import reached_stage

            self._reached = reached_stage(self.by_type)
        return self._reached

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
            Outcome(FAIL, expected, f"缺少：{'、'.join(missing)}", missing=True)
            if missing
            else Outcome(PASS, expected, "齐全")
        )
    types = p["any_of"]
    found = view.of_types(types, p.get("where"))
    expected = " 或 ".join(types)
    return (
        Outcome(PASS, expected, label(found[0]))
        if found
        else Outcome(FAIL, expected, "未见该文书", missing=True)
    )


def field_values(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """A field holds one of the allowed values (`allowed`, matched as substrings when
    `contains: true`); a document without the field is left to `fields_present`."""
    allowed = [str(a) for a in p["allowed"]]

    def check(doc: dict[str, Any]) -> str | None:
        have = value_of(doc, p["field"])
        if have in (None, ""):
            return None
        text = str(have)
        ok = any(a in text for a in allowed) if p.get("contains") else text in allowed
        return None if ok else f"{p['field']}为“{text}”"

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, f"{p['field']}：{'或'.join(allowed)}", "该文书")


def bureau_seal(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """Arts. 2 and 23 (7): the decision bears the bureau's own seal, never a unit's."""
    field = p.get("field", "印章")

    def check(doc: dict[str, Any]) -> str | None:
        have = value_of(doc, field)
        if have in (None, ""):
            return None  # missing altogether: R23-decision-items
        text = re.sub(r"[\s“”\"「」（）()]|印章|公章", "", str(have))
        return None if text == ctx.bureau else f"印章为“{have}”，不是本局印章"

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, f"加盖“{ctx.bureau}”印章", "该文书")


# What a clerk reads for the keys that are not `fields` (the case file's own names alongside).
FIELD_NAMES = {"place": "地点（place）", "number": "编号（number）", "date": "日期（date）",
               "case.party.address": "当事人地址（party.address）"}  # fmt: skip


def _item(view: CaseView, doc: dict[str, Any], name: str) -> Any:
    """A case header's field named `case.party.address` (a party's address is stated once, in
    the header, and printed on every document)."""
    node: Any = view.case
    for part in name.split(".")[1:]:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def fields_present(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    # An item may be a list of names: any one of them will do (告知情况 or 陈述申辩情况).
    items = [f if isinstance(f, list) else [f] for f in p["fields"]]
    names = ["或".join(FIELD_NAMES.get(str(f), str(f)) for f in alts) for alts in items]

    pairs = list(zip(items, names, strict=True))

    def check(doc: dict[str, Any]) -> str | None:
        missing = []
        for alts, name in pairs:  # a plain loop: this runs for every decision of every case
            for f in alts:
                value = _item(view, doc, f) if f.startswith("case.") else value_of(doc, f)
                if value not in (None, "", [], False):
                    break
            else:
                missing.append(name)
        return f"缺少 {'、'.join(missing)}" if missing else None

    docs, problems = _per_document(view, p, check)
    return _result(docs, problems, "载明：" + "、".join(names), "该文书")


def signatures(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    def check(doc: dict[str, Any]) -> str | None:
        missing = []
        for role in p["roles"]:
            signed = [s for s in doc.get("signatures", []) if s["role"] == role]
            if signed and p.get("with_opinion") and not all(s.get("opinion") for s in signed):
                missing.append(f"{role}未签署意见")  # the approval form prints an empty opinion
                continue
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
        if p.get("exception_field") and value_of(doc, p["exception_field"]):
            return None  # "法律另有规定的除外": the provision is named on the document
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


def _grace(view: CaseView, doc: dict[str, Any], p: dict[str, Any], ctx: Context) -> dt.date | None:
    """The day a step on `doc` falls due when the rule allows `pending_working_days` for it
    (service within 7 working days, storage of footage within 2): None once it has passed,
    for a closed case, or when the rule allows no time."""
    n = p.get("pending_working_days")
    made = when_of(doc.get("date"), ctx.tz)
    if not n or not made or not view.is_open:
        return None
    limit = ctx.calendar.nth_workday_after(made.astimezone(ctx.tz).date(), int(n))
    return limit if limit is not None and ctx.today <= limit else None


def _with_pending(outcome: Outcome, dues: list[dt.date], what: str) -> Outcome:
    if outcome.status == PASS and dues:
        return Outcome(PENDING, outcome.expected, f"{what}（最迟 {min(dues).isoformat()}）", min(dues))
    return outcome


def served(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    dues: list[dt.date] = []

    def check(doc: dict[str, Any]) -> str | None:
        receipts = view.receipts.get(doc["id"], [])
        if not receipts:
            if (due := _grace(view, doc, p, ctx)) is not None:
                dues.append(due)
                return None
            return "无送达回证"
        if not any(r.get("received_at") for r in receipts):
            return "送达回证未注明收到日期"
        return None

    docs, problems = _per_document(view, p, check)
    outcome = _result(docs, problems, "每份须送达的文书都有载明收到日期的送达回证", "须送达的文书")
    return _with_pending(outcome, dues, "尚有文书待送达")


# -- media ------------------------------------------------------------------------------------
def media_linked(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    kinds = set(p.get("kinds", ["video", "photo", "audio"]))
    dues: list[dt.date] = []

    def check(doc: dict[str, Any]) -> str | None:
        links = [m for m in view.links_for(doc, p.get("activities", [])) if m["kind"] in kinds]
        if links:
            return None
        if (due := _grace(view, doc, p, ctx)) is not None:
            dues.append(due)  # art. 37: footage may take 2 working days to be stored
            return None
        return "未关联音像记录"

    docs, problems = _per_document(view, p, check)
    names = {"video": "录像", "photo": "照片", "audio": "录音"}
    outcome = _result(docs, problems, "关联" + "或".join(names[k] for k in sorted(kinds)), "该文书")
    return _with_pending(outcome, dues, "音像记录尚在存储期限内，待关联")


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
    """The union of the linked videos' spans must cover the document's start–end. Coverage
    that rests on a recording flagged for clock skew at ingest is in doubt: a warning."""
    tolerance = float(p.get("tolerance_seconds", 30))
    skew: list[str] = []

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
            doubtful = [m for m in links if m["recording"] in view.skewed]
            if doubtful:
                names = "、".join(f"{m['recording'][:12]}（{m.get('device') or '设备不明'}）"
                                 for m in doubtful)  # fmt: skip
                skew.append(f"{label(doc)}：录像 {names} 入库时发现时钟偏差，覆盖时间存疑")
            return None
        text = "、".join(f"{_clock(a, ctx.tz)}–{_clock(b, ctx.tz)}（{(b - a).total_seconds() / 60:.1f} 分钟）"
                        for a, b in gaps)  # fmt: skip
        return f"录像未覆盖 {text}"

    docs, problems = _per_document(view, p, check)
    outcome = _result(docs, problems, "录像连续覆盖文书载明的起止时间", "该文书")
    if outcome.status == PASS and skew:
        return Outcome(WARN, outcome.expected, "；".join(skew))
    return outcome


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
Times = list[tuple[dict[str, Any] | None, dt.datetime]]


def _endpoint(view: CaseView, spec: dict[str, Any], ctx: Context,
              anchor: dict[str, Any] | None = None) -> Times:  # fmt: skip
    """Times an end of a deadline points at: a case field, documents' fields, or the receipts
    that served those documents (`via: served`). A receipt's time may depend on how it was
    served (`field_by_method`: the fields to try, in order, for 公告, 邮寄…)."""
    if "case_field" in spec:
        t = when_of(view.case.get(spec["case_field"]), ctx.tz)
        return [(None, t)] if t else []
    docs = view.of_types(spec.get("types") or [spec["type"]], spec.get("where"))
    if spec.get("via") == "served":
        docs = [r for d in docs for r in view.receipts.get(d["id"], [])]
    if anchor is not None and spec.get("link") == "serves":
        docs = [d for d in docs if d.get("serves") == anchor["id"]]
    field = spec.get("field", "date")
    by_method = spec.get("field_by_method", {})
    out: Times = []
    for d in docs:
        for name in by_method.get(d.get("method"), [field]):
            if t := when_of(value_of(d, name), ctx.tz):
                out.append((d, t))
                break
    return out


def _add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _nth_workday_skipping(ctx: Context, day: dt.date, n: int,
                          skip: frozenset[dt.date]) -> dt.date | None:  # fmt: skip
    """The n-th working day after `day`, not counting the days in `skip` (行政许可法第四十五条:
    the time hearings, tests and expert review take is outside the period)."""
    current, found = day, 0
    while found < n:
        current += dt.timedelta(days=1)
        if current in skip:
            continue
        work = ctx.calendar.is_workday(current)
        if work is None:
            return None
        found += int(work)
    return current


def _limit(start: dt.datetime, n: int, unit: str, ctx: Context, end_on_workday: bool = False,
           skip: frozenset[dt.date] = frozenset()) -> dt.datetime | dt.date | None:  # fmt: skip
    """The last moment (hours) or day of a period of n units that starts after `start` (the
    day of the event itself is not counted). `end_on_workday`: a period ending on a holiday
    runs to the next working day (民事诉讼法第八十五条, applied to litigation periods). `skip`:
    days left out of a period counted in working days."""
    if unit == "hours":
        return start + dt.timedelta(hours=n)
    day = start.astimezone(ctx.tz).date()
    if unit == "working_days":
        if skip:
            return _nth_workday_skipping(ctx, day, n, skip)
        return ctx.calendar.nth_workday_after(day, n)
    end = day + dt.timedelta(days=n) if unit == "days" else _add_months(day, n)
    while end_on_workday:
        work = ctx.calendar.is_workday(end)
        if work is None:
            return None
        if work:
            break
        end += dt.timedelta(days=1)
    return end


UNIT_NAMES = {"hours": "小时", "days": "日", "working_days": "个工作日", "months": "个月"}


def _on_or_before(t: dt.datetime, limit: dt.datetime | dt.date, tz: dt.tzinfo) -> bool:
    if isinstance(limit, dt.datetime):
        return t <= limit
    return t.astimezone(tz).date() <= limit


def _on_or_after(t: dt.datetime, limit: dt.datetime | dt.date, tz: dt.tzinfo) -> bool:
    if isinstance(limit, dt.datetime):
        return t >= limit
    return t.astimezone(tz).date() >= limit


def _after(t: dt.datetime, limit: dt.datetime | dt.date, tz: dt.tzinfo) -> bool:
    if isinstance(limit, dt.datetime):
        return t > limit
    return t.astimezone(tz).date() > limit


def _day(limit: dt.datetime | dt.date, tz: dt.tzinfo) -> dt.date:
    return limit.astimezone(tz).date() if isinstance(limit, dt.datetime) else limit


def _extended(view: CaseView, spec: dict[str, Any], limit: dt.datetime | dt.date,
              ctx: Context) -> tuple[dt.datetime | dt.date, list[str]]:  # fmt: skip
    """A limit as extended by an approved extension on file (`extend:` — its document type,
    the roles that approve it, the field with the days added or the day it runs to, and the
    most the law allows). An extension not approved, made after the limit had passed, or
    longer than allowed extends nothing and is reported."""
    problems: list[str] = []
    best = limit
    for doc in view.of_types([spec["type"]]):
        made = when_of(doc.get("date"), ctx.tz)
        roles = {s["role"] for s in doc.get("signatures", []) if s.get("name")}
        approvers = spec.get("approved_by", [])
        if approvers and not roles & set(approvers):
            problems.append(f"{label(doc)}未经{'或'.join(approvers)}签批")
            continue
        if made and not _on_or_before(made, limit, ctx.tz):
            problems.append(f"{label(doc)}在原期限 {_fmt(limit)} 届满后才作出")
            continue
        days = value_of(doc, spec.get("days_field", "延长天数"))
        until = when_of(value_of(doc, spec.get("until_field", "延长至")), ctx.tz)
        base = _day(limit, ctx.tz)
        working = spec.get("unit") == "working_days"  # 行政许可法第四十二条：延长十日（工作日）
        added: int | None
        new: dt.date | None
        if until is not None:
            new = until.astimezone(ctx.tz).date()
            added = _workdays_between(ctx, base, new) if working else (new - base).days
        elif isinstance(days, int) and not isinstance(days, bool) and days > 0:
            added = days
            new = ctx.calendar.nth_workday_after(base, days) if working else base + dt.timedelta(days=days)
        else:
            problems.append(f"{label(doc)}未载明延长天数或延长至何日")
            continue
        if new is None or added is None:
            problems.append(f"{label(doc)}：工作日历未覆盖延长后的日期")
            continue
        cap = spec.get("max_days")
        word = "个工作日" if working else " 日"
        if cap is not None and added > int(cap):
            problems.append(f"{label(doc)}延长 {added}{word}，超过法定最多 {cap}{word}")
            continue
        if new > _day(best, ctx.tz):
            best = new
    return best, problems


def _workdays_between(ctx: Context, a: dt.date, b: dt.date) -> int | None:
    """Working days after `a` up to and including `b`; None where the calendar runs out."""
    count, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        work = ctx.calendar.is_workday(day)
        if work is None:
            return None
        count += int(work)
    return count


def _excluded_days(view: CaseView, spec: dict[str, Any], ctx: Context) -> frozenset[dt.date]:
    """The days of the periods left out of a deadline (`exclude: {types}`): each such
    document's `start` to its `end` (or `date`), both days included."""
    days: set[dt.date] = set()
    for doc in view.of_types(spec["types"]):
        a = when_of(doc.get("start"), ctx.tz)
        b = when_of(doc.get("end") or doc.get("date"), ctx.tz)
        if a is None or b is None:
            continue
        day, last = a.astimezone(ctx.tz).date(), b.astimezone(ctx.tz).date()
        while day <= last:
            days.add(day)
            day += dt.timedelta(days=1)
    return frozenset(days)


def _deemed_start(view: CaseView, spec: dict[str, Any], ctx: Context) -> Times | None:
    """行政许可法第三十二条: 补正 not told within its days means the application was accepted
    on receipt — the period then counts from `use` (the application). None: not deemed."""
    late = spec["late"]
    firsts = [t for _, t in _endpoint(view, late["from"], ctx)]
    told = [t for _, t in _endpoint(view, late["to"], ctx)]
    if not firsts or not told:
        return None
    limit = _limit(min(firsts), int(late["max"]), late["unit"], ctx)
    if limit is None or _on_or_before(min(told), limit, ctx.tz):
        return None
    return _endpoint(view, spec["use"], ctx) or None


def deadline(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    unit, n = p["unit"], int(p.get("max", p.get("min", 0)))
    is_max = "max" in p
    strict = bool(p.get("exclusive"))  # "十日后": only from the day after the n-th
    bound = "不超过" if is_max else ("超过" if strict else "不少于")
    expected = f"{p['describe']}：{bound} {n} {UNIT_NAMES[unit]}"
    if p.get("extend"):
        expected += "（经批准延长的，以延长后的期限为准）"
    starts = _endpoint(view, p["from"], ctx)
    note = ""
    if p.get("deemed_from") and (deemed := _deemed_start(view, p["deemed_from"], ctx)):
        starts, note = deemed, p["deemed_from"].get("note", "")
    if not starts:
        return Outcome(NA, expected, "起算事项未发生")
    skip = _excluded_days(view, p["exclude"], ctx) if p.get("exclude") else frozenset()
    problems, unknown, dues, checked = [], [], [], 0
    for anchor, start in starts:
        limit = _limit(start, n, unit, ctx, bool(p.get("end_on_workday")), skip)
        if limit is None:
            unknown.append(f"工作日历未覆盖 {start.date()} 之后的日期")
            continue
        if p.get("extend"):
            limit, ext_problems = _extended(view, p["extend"], limit, ctx)
            problems += ext_problems
        ends = _endpoint(view, p["to"], ctx, anchor)
        if not ends:
            if is_max and p.get("overdue_if_missing"):
                if _day(limit, ctx.tz) < ctx.today:
                    problems.append(f"期限 {_fmt(limit)} 已过，仍未{p['to_label']}")
                else:
                    dues.append(_day(limit, ctx.tz))
            continue
        end = min(t for _, t in ends)
        checked += 1
        if is_max:
            ok = _on_or_before(end, limit, ctx.tz)
        else:
            ok = (_after if strict else _on_or_after)(end, limit, ctx.tz)
        if not ok:
            problems.append(
                f"{_fmt_start(start, ctx)} 起算，期限 {_fmt(limit)}"
                f"{'（须在其后）' if strict else ''}，实际 {_fmt_start(end, ctx)}"
            )
    if skip and (problems or checked):
        note += f"（不计入期限的 {len(skip)} 日：听证、检验检测、鉴定、专家评审等）"
    if problems:
        return Outcome(FAIL, expected, note + "；".join(problems))
    if unknown:
        return Outcome(UNKNOWN, expected, "；".join(unknown))
    if dues:
        due = min(dues)
        return Outcome(PENDING, expected, f"尚未{p['to_label']}，期限 {due.isoformat()}", due)
    if not checked:
        return Outcome(NA, expected, f"尚未{p['to_label']}（未到期限）")
    return Outcome(PASS, expected, note + "在期限内")


def _fmt(limit: dt.datetime | dt.date) -> str:
    return limit.strftime("%Y-%m-%d %H:%M") if isinstance(limit, dt.datetime) else limit.isoformat()


def _fmt_start(t: dt.datetime, ctx: Context) -> str:
    return t.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")


def order(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = f"{p['before']['type']}先于{'、'.join(p['after'])}"
    later = view.of_types(p["after"], p.get("after_where"))
    if not later:
        return Outcome(NA, expected, "本案无后续文书")
    befores = [t for _, t in _endpoint(view, p["before"], ctx)]
    problems = []  # the later document is on file: a missing earlier one is overdue already
    for doc in later:
        t = when_of(value_of(doc, "date"), ctx.tz)
        if not befores:
            problems.append(f"{label(doc)}之前未见{p['before']['type']}")
        elif t and min(befores) > t:
            problems.append(f"{label(doc)}早于{p['before']['type']}")
    return (
        Outcome(FAIL, expected, "；".join(problems))
        if problems
        else Outcome(PASS, expected, "顺序正确")
    )


def challenge_period(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """行政强制法第四十四条: a structure is demolished by force only once the periods for
    review and litigation against the decision have run out unchallenged (counted from its
    service), or the challenge has been finally decided (a record of it, with the day the
    decision became final)."""
    periods = p["periods"]
    expected = "申请行政复议、提起行政诉讼的法定期限届满（或复议、诉讼终结）后方可强制拆除：" + "、".join(
        f"{x['name']} {x['n']} {UNIT_NAMES[x['unit']]}" for x in periods)  # fmt: skip
    acts = view.of_types(p["acts"], p.get("where"))
    if not acts:
        return Outcome(NA, expected, "本案无强制拆除")
    final = [t for _, t in _endpoint(view, p["final"], ctx)]
    served_at = [t for _, t in _endpoint(view, p["decision"], ctx)]
    problems, unknown = [], []
    for act in acts:
        t = when_of(act.get("start") or act.get("date"), ctx.tz)
        if t is None:
            problems.append(f"{label(act)}未载明时间")
            continue
        if final:
            if t.astimezone(ctx.tz).date() < max(final).astimezone(ctx.tz).date():
                problems.append(f"{label(act)}（{_fmt_start(t, ctx)}）早于复议、诉讼终结生效"
                                f"（{_fmt_start(max(final), ctx)}）")  # fmt: skip
            continue
        if not served_at:
            problems.append(f"{label(act)}：未见决定书送达，复议、诉讼期限无从起算")
            continue
        limits = [_limit(min(served_at), int(x["n"]), x["unit"], ctx, True) for x in periods]
        if any(lim is None for lim in limits):
            unknown.append(f"工作日历未覆盖 {min(served_at).date()} 之后的日期")
            continue
        last = max(_day(lim, ctx.tz) for lim in limits if lim is not None)
        if not _after(t, last, ctx.tz):
            problems.append(f"决定书 {_fmt_start(min(served_at), ctx)} 送达，期限至 {last.isoformat()}，"
                            f"{label(act)}于 {_fmt_start(t, ctx)} 实施")  # fmt: skip
    if problems:
        return Outcome(FAIL, expected, "；".join(problems))
    if unknown:
        return Outcome(UNKNOWN, expected, "；".join(unknown))
    return Outcome(PASS, expected, "期限届满后实施")


PREDICATES: dict[str, Callable[[CaseView, dict[str, Any], Context], Outcome]] = {
    "document_present": document_present,
    "fields_present": fields_present,
    "field_values": field_values,
    "bureau_seal": bureau_seal,
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
    "challenge_period": challenge_period,
}
