"""zfjl.dates: every form people type means one value; everything else is a usage error."""

from __future__ import annotations

import datetime as dt

import pytest

from zfjl.dates import month_text, parse_day, parse_moment
from zfjl.errors import UsageError

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize("text", ["2024-06-01", "2024/6/1", "2024-6-1", "20240601", "2024.6.1",
                                  "2024年6月1日", " 2024/06/01 "])  # fmt: skip
def test_the_forms_of_a_day(text: str) -> None:
    assert parse_day(text, "--as-of") == dt.date(2024, 6, 1)


@pytest.mark.parametrize("text", ["junk", "", "2024-13-45", "2024-02-30", "2024/06-01", "240601"])
def test_what_is_not_a_day_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match="--from") as exc:
        parse_day(text, "--from")
    assert exc.value.exit_code == 2


def test_moments() -> None:
    m = parse_moment("2024/6/1 10:30", "--from", TZ)
    assert m.at == dt.datetime(2024, 6, 1, 10, 30, tzinfo=TZ) and m.has_time
    assert parse_moment("20240601T1030", "--from", TZ).at == m.at
    assert parse_moment("2024-06-01T02:30Z", "--from", TZ).at == m.at
    day = parse_moment("2024-06-01", "--to", TZ)
    assert not day.has_time and day.end == dt.datetime(2024, 6, 2, tzinfo=TZ)
    for bad in ("2024-06-01 25:00", "2024-06-01 10:30 junk", "2024-06-011"):
        with pytest.raises(UsageError, match="--to"):
            parse_moment(bad, "--to", TZ)


@pytest.mark.parametrize("text", ["2024-06", "2024/6", "202406", "2024-6", "2024年6月"])
def test_months(text: str) -> None:
    assert month_text(text) == "2024-06"


@pytest.mark.parametrize("text", ["2024-13", "junk", "2024"])
def test_bad_months(text: str) -> None:
    with pytest.raises(UsageError, match="--period"):
        month_text(text)
