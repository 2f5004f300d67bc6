"""The one parser of the dates, moments and months people type on the command line.

Every date, time and period option of every command goes through here, so `2024/6/1`,
`2024-6-1`, `20240601` and `2024-06-01` mean the same day everywhere and anything else
(`junk`, `2024-13-45`) is refused with one Chinese line naming the option (exit 2), never
compared as text against the catalog (where `2024/06/01` sorts after every `2024-…`).

Accepted:

- a day: `2024-06-01`, `2024-6-1`, `2024/6/1`, `2024.6.1`, `20240601`, `2024年6月1日`;
- a moment: a day, optionally followed by `T` or spaces and `HH:MM[:SS[.ffffff]]` (or
  `HHMM[SS]` after a compact day, `20240601T1030`), optionally an offset (`+08:00`, `+0800`,
  `Z`); without an offset it is in the bureau's time zone;
- a month: `2024-06`, `2024-6`, `2024/6`, `2024.6`, `202406`, `2024年6月`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from zfjl.errors import UsageError

_SEP = r"[-/.]"
_DAY = re.compile(
    rf"(?P<y>\d{{4}})(?P<s>{_SEP})(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})"
    r"|(?P<cy>\d{4})(?P<cm>\d{2})(?P<cd>\d{2})"
    r"|(?P<hy>\d{4})\s*年\s*(?P<hm>\d{1,2})\s*月\s*(?P<hd>\d{1,2})\s*日?"
)
_TIME = re.compile(
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"|(?P<cH>\d{2})(?P<cM>\d{2})(?P<cS>\d{2})?"
)
_OFFSET = re.compile(r"Z|[+-]\d{2}(?::?\d{2})?")
_MONTH = re.compile(
    rf"(?P<y>\d{{4}}){_SEP}(?P<m>\d{{1,2}})|(?P<cy>\d{{4}})(?P<cm>\d{{2}})"
    r"|(?P<hy>\d{4})\s*年\s*(?P<hm>\d{1,2})\s*月"
)

DAY_FORMS = "2024-06-01、2024/6/1 或 20240601"
MOMENT_FORMS = "2024-06-01、2024/6/1、20240601，可带时间如 2024-06-01 10:30"
MONTH_FORMS = "2024-06、2024/6 或 202406"


@dataclass(frozen=True)
class Moment:
    """A parsed moment and whether a time of day was written (`--to 2024-06-01` means
    through that whole day; `--to 2024-06-01 10:30` up to that minute)."""

    at: dt.datetime  # always aware
    has_time: bool

    @property
    def end(self) -> dt.datetime:
        """The exclusive upper bound this moment stands for as the end of a span."""
        return self.at if self.has_time else self.at + dt.timedelta(days=1)


def _refuse(option: str, what: str, forms: str, text: str, why: str = "") -> UsageError:
    reason = f"（{why}）" if why else ""
    return UsageError(f"{option} 应为{what}，如 {forms}；收到 {text!r}{reason}")


def _day_of(m: re.Match[str], option: str, text: str, forms: str, what: str) -> dt.date:
    y = m["y"] or m["cy"] or m["hy"]
    mo = m["m"] or m["cm"] or m["hm"]
    d = m["d"] or m["cd"] or m["hd"]
    try:
        return dt.date(int(y), int(mo), int(d))
    except ValueError:
        raise _refuse(option, what, forms, text, "没有这一天") from None


def parse_day(text: str, option: str) -> dt.date:
    """A calendar day as people write it; `option` (`--as-of`) names it in the message."""
    s = str(text).strip()
    m = _DAY.fullmatch(s)
    if m is None:
        raise _refuse(option, "日期", DAY_FORMS, str(text))
    return _day_of(m, option, str(text), DAY_FORMS, "日期")


def parse_moment(text: str, option: str, tz: dt.tzinfo) -> Moment:
    """A day, or a day and a time of day, as people write it; naive ones are in `tz`."""
    raw = str(text)
    s = raw.strip()
    m = _DAY.match(s)
    if m is None:
        raise _refuse(option, "日期或时间", MOMENT_FORMS, raw)
    day = _day_of(m, option, raw, MOMENT_FORMS, "日期或时间")
    rest = s[m.end() :]
    if not rest:
        return Moment(dt.datetime.combine(day, dt.time(), tz), has_time=False)
    sep = re.match(r"T\s*|\s+", rest)
    if sep is None:
        raise _refuse(option, "日期或时间", MOMENT_FORMS, raw)
    rest = rest[sep.end() :]
    t = _TIME.match(rest)
    if t is None or (t["cH"] and not m["cy"]):  # 1030 only after a compact day
        raise _refuse(option, "日期或时间", MOMENT_FORMS, raw)
    zone_text = rest[t.end() :].strip()
    zone: dt.tzinfo = tz
    if zone_text:
        if not _OFFSET.fullmatch(zone_text):
            raise _refuse(option, "日期或时间", MOMENT_FORMS, raw)
        zone = dt.datetime.fromisoformat(f"2000-01-01T00:00{_colon(zone_text)}").tzinfo or tz
    try:
        clock = dt.time(
            int(t["H"] or t["cH"]),
            int(t["M"] or t["cM"]),
            int(t["S"] or t["cS"] or 0),
            int((t["f"] or "0").ljust(6, "0")),
        )
    except ValueError:
        raise _refuse(option, "日期或时间", MOMENT_FORMS, raw, "没有这一时刻") from None
    return Moment(dt.datetime.combine(day, clock, zone), has_time=True)


def _colon(offset: str) -> str:
    if offset == "Z":
        return "+00:00"
    if len(offset) == 3:
        return offset + ":00"
    return offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"


def parse_month(text: str, option: str = "--period") -> dt.date:
    """A calendar month as people write it, as its first day."""
    s = str(text).strip()
    m = _MONTH.fullmatch(s)
    if m is None:
        raise _refuse(option, "月份", MONTH_FORMS, str(text))
    y, mo = m["y"] or m["cy"] or m["hy"], m["m"] or m["cm"] or m["hm"]
    if not 1 <= int(mo) <= 12:
        raise _refuse(option, "月份", MONTH_FORMS, str(text), "没有这个月")
    return dt.date(int(y), int(mo), 1)


def month_text(text: str, option: str = "--period") -> str:
    """The month `text` names, as the journal and catalog write it: `2024-06`."""
    return parse_month(text, option).strftime("%Y-%m")


def day_text(text: str | None, option: str) -> str | None:
    """The day `text` names as ISO 8601 (`2024-06-01`), or None for no value."""
    return None if text is None else parse_day(text, option).isoformat()


def moment_text(text: str | None, option: str, tz: dt.tzinfo) -> str | None:
    """The moment `text` names as ISO 8601 with its offset, or None for no value. A day
    alone keeps its form (`2024-06-01`): the library reads it as that whole day."""
    if text is None:
        return None
    moment = parse_moment(text, option, tz)
    if not moment.has_time:
        return moment.at.date().isoformat()
    return moment.at.isoformat()


# -- how a date or time reads in Chinese prose: messages, the report, the custody PDF ---------
def _as_datetime(value: str | dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at.astimezone(tz) if tz is not None and at.tzinfo is not None else at


def chinese_day(value: str | dt.date) -> str:
    """2024-06-03 as 2024年6月3日 (a time of day, if any, is dropped)."""
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def chinese_time(
    value: str | dt.datetime | None, tz: dt.tzinfo | None = None, seconds: bool = False
) -> str:
    """An ISO time as 2024年6月3日 10:15 (in `tz` when given, else as written; the offset is
    not shown: a vault's times are in its own zone). A day alone stays a day; text that is no
    ISO time is returned as it is, so a message never fails on it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return chinese_day(value.strip())
        except ValueError:
            return value
    try:
        at = _as_datetime(value, tz)
    except ValueError:
        return str(value)
    clock = f"{at:%H:%M:%S}" if seconds else f"{at:%H:%M}"
    return f"{chinese_day(at.date())} {clock}"


def chinese_month(value: str | dt.date) -> str:
    """2024-06 as 2024年6月."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    year, month = int(text[:4]), int(text[5:7])
    return f"{year}年{month}月"


def chinese_span(first: str | dt.date, last: str | dt.date) -> str:
    """Two days, both included, as 2024年6月1日至6月30日 (the year, or the month, written
    once when they are the same)."""
    a = first if isinstance(first, dt.date) else dt.date.fromisoformat(str(first)[:10])
    b = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
    if a == b:
        return chinese_day(a)
    if a.year != b.year:
        return f"{chinese_day(a)}至{chinese_day(b)}"
    return f"{chinese_day(a)}至{b.month}月{b.day}日"
