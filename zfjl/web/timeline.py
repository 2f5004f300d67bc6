"""A case's timeline (`/cases/<case>`): for each document that states a start and an end, the
recordings linked to it drawn against that span, and the spans no video covers marked — the
same comparison `video_coverage` makes in the check (tolerance included), drawn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from zfjl.checklists.predicates import when_of

TOLERANCE_SECONDS = 30.0  # as the check's video_coverage rule


@dataclass
class Bar:
    left: float  # percent of the row's width
    width: float
    start: dt.datetime
    end: dt.datetime
    recording: str | None = None
    kind: str | None = None
    device: str | None = None
    activity: str | None = None


@dataclass
class Row:
    document: dict[str, Any]
    start: dt.datetime
    end: dt.datetime
    span: Bar
    recordings: list[Bar] = field(default_factory=list)
    gaps: list[Bar] = field(default_factory=list)
    window_start: dt.datetime | None = None
    window_seconds: float = 1.0


def _bar(a: dt.datetime, b: dt.datetime, w0: dt.datetime, seconds: float, **kw: Any) -> Bar:
    left = max(0.0, (a - w0).total_seconds() / seconds * 100)
    width = max(0.4, (b - a).total_seconds() / seconds * 100)
    return Bar(round(left, 3), round(min(width, 100 - left), 3), a, b, **kw)


def uncovered(start: dt.datetime, end: dt.datetime,
              spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:  # fmt: skip
    """The parts of [start, end] that no span covers, each longer than the tolerance."""
    gaps, cursor = [], start
    for s, e in sorted(spans):
        if s > cursor and (s - cursor).total_seconds() > TOLERANCE_SECONDS:
            gaps.append((cursor, min(s, end)))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end and (end - cursor).total_seconds() > TOLERANCE_SECONDS:
        gaps.append((cursor, end))
    return gaps


def case_timeline(case: dict[str, Any]) -> list[Row]:
    rows = []
    media = case.get("media", [])
    for doc in case.get("documents", []):
        start, end = when_of(doc.get("start")), when_of(doc.get("end"))
        if not start or not end or end <= start:
            continue
        links, seen = [], set()
        for m in media:  # one bar per recording (one video may serve several links)
            a, b = when_of(m.get("start")), when_of(m.get("end"))
            if not (m.get("recording") and a and b) or m["recording"] in seen:
                continue
            if m.get("document") == doc["id"] or (a < end and b > start):
                seen.add(m["recording"])
                links.append((m, a, max(b, a + dt.timedelta(seconds=1))))
        w0 = min([start, *(a for _, a, _ in links)])
        w1 = max([end, *(b for _, _, b in links)])
        seconds = max((w1 - w0).total_seconds(), 1.0)
        row = Row(doc, start, end, _bar(start, end, w0, seconds), window_start=w0,
                  window_seconds=seconds)  # fmt: skip
        for m, a, b in links:
            row.recordings.append(_bar(a, b, w0, seconds, recording=m["recording"],
                                       kind=m.get("kind"), device=m.get("device"),
                                       activity=m.get("activity")))  # fmt: skip
        videos = [(a, b) for m, a, b in links if m.get("kind") == "video"]
        row.gaps = [_bar(a, b, w0, seconds) for a, b in uncovered(start, end, videos)]
        rows.append(row)
    return rows
