"""The official working-day calendar (art. 37 uploads, and every deadline counted in working days).

Days come from the State Council's yearly holiday notice, with its make-up working days
(调休上班). The `chinese_calendar` package carries the notices for 2004–2026; a bureau adds a
later year (or corrects one) with `zfjl calendar add notice.yaml`, which is journaled like
every other change. A date that no notice covers is *unknown*: callers get None, never a guess
from the weekday alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chinese_calendar

from zfjl.errors import CalendarError
from zfjl.vault.queries.calendar import calendar_days, calendar_years
from zfjl.vault.vault import Vault

BUILTIN_SOURCE = f"chinese_calendar {chinese_calendar.__version__}"
BUILTIN_YEARS = frozenset(d.year for d in chinese_calendar.holidays)


@dataclass(frozen=True)
class YearSource:
    year: int
    source: str


class WorkdayCalendar:
    """Answers "is this a working day?" only for years a holiday notice covers."""

    def __init__(
        self, added_years: Iterable[int] = (), added_days: dict[dt.date, bool] | None = None
    ) -> None:
        self.added_years = frozenset(added_years)
        self.added_days = added_days or {}
        self._memo: dict[dt.date, bool | None] = {}  # deadlines ask about the same days often
        self._nth: dict[tuple[dt.date, int], dt.date | None] = {}  # and count the same periods

    def covers(self, day: dt.date) -> bool:
        return day.year in self.added_years or day.year in BUILTIN_YEARS

    def is_workday(self, day: dt.date) -> bool | None:
        try:
            return self._memo[day]
        except KeyError:
            answer = self._memo[day] = self._lookup(day)
            return answer

    def _lookup(self, day: dt.date) -> bool | None:
        if day in self.added_days:
            return self.added_days[day]
        if day.year in self.added_years:
            return day.weekday() < 5
        if day.year in BUILTIN_YEARS:
            return bool(chinese_calendar.is_workday(day))
        return None

    def nth_workday_after(self, day: dt.date, n: int) -> dt.date | None:
        """The n-th working day strictly after `day`; None when the calendar runs out."""
        try:
            return self._nth[day, n]
        except KeyError:
            answer = self._nth[day, n] = self._count_workdays(day, n)
            return answer

    def _count_workdays(self, day: dt.date, n: int) -> dt.date | None:
        current = day
        found = 0
        while found < n:
            current += dt.timedelta(days=1)
            work = self.is_workday(current)
            if work is None:
                return None
            found += int(work)
        return current

    def sources(self) -> list[YearSource]:
        years = {y: BUILTIN_SOURCE for y in BUILTIN_YEARS}
        years.update({y: "保管库（局方录入）" for y in self.added_years})
        return [YearSource(y, s) for y, s in sorted(years.items())]


def _parse_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(
            f"节假日通知 {where}：日期 {value!r} 格式不对，应为 YYYY-MM-DD"
        ) from None


def parse_notice(text: str, origin: str = "通知文件") -> dict[str, Any]:
    """Read a holiday notice (YAML) into the journal's calendar.add payload.

    Format (see docs/calendar.md)::

        year: 2027
        notice: 国务院办公厅关于2027年部分节假日安排的通知
        holidays:
          - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
        workdays:            # make-up working days on weekends (调休上班)
          - 2027-02-06
    """
    import yaml  # here: PyYAML is 16 ms of every ingest's start-up, only notices need it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"第 {mark.line + 1} 行" if mark else ""
        raise CalendarError(f"{origin} {line} 不是合法的 YAML：{exc}") from None
    except ValueError as exc:  # YAML read 2028-13-01 as a date and could not build it
        raise CalendarError(f"{origin}：日期无效（{exc}），应为 YYYY-MM-DD") from None
    if not isinstance(data, dict):
        raise CalendarError(f"{origin}：应为含 year、notice、holidays、workdays 的映射")
    for key in ("year", "notice", "holidays"):
        if key not in data:
            raise CalendarError(f"{origin}：缺少字段 {key}")
    year = data["year"]
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise CalendarError(f"{origin}：year 应为四位年份，收到 {year!r}")
    days: dict[dt.date, dict[str, Any]] = {}
    for i, item in enumerate(data.get("holidays") or [], 1):
        where = f"holidays 第 {i} 项"
        if not isinstance(item, dict) or "from" not in item or "name" not in item:
            raise CalendarError(f"{origin} {where}：应含 name、from（及可选 to）")
        start = _parse_date(item["from"], where)
        end = _parse_date(item.get("to", item["from"]), where)
        if end < start or (end - start).days > 15:
            raise CalendarError(f"{origin} {where}：起止日期不合理（{start} 至 {end}）")
        if abs(start.year - year) > 1:
            raise CalendarError(f"{origin} {where}：日期 {start} 不属于 {year} 年的通知")
        day = start
        while day <= end:
            days[day] = {"date": day.isoformat(), "workday": False, "name": str(item["name"])}
            day += dt.timedelta(days=1)
    for i, value in enumerate(data.get("workdays") or [], 1):
        day = _parse_date(value, f"workdays 第 {i} 项")
        days[day] = {"date": day.isoformat(), "workday": True, "name": "调休上班"}
    return {
        "year": year,
        "notice": str(data["notice"]),
        "days": [days[d] for d in sorted(days)],
    }


def load_calendar(vault: Vault) -> WorkdayCalendar:
    """The calendar as the vault knows it: built-in notices plus those added by the bureau."""
    return WorkdayCalendar(calendar_years(vault), calendar_days(vault))


def add_notice(vault: Any, path: Path) -> dict[str, Any]:
    """Journal a holiday notice file; returns its parsed payload."""
    from zfjl import userfs

    text = userfs.current().read_text(path, "节假日通知文件")
    payload = parse_notice(text, str(path))
    from zfjl.vault import events

    vault.record(events.CalendarAdd(**payload), f"calendar:{payload['year']}")
    return payload
