"""The device registry (arts. 48, 51, 52): cameras, who carried which when, their upkeep.

Every change is a journal event on `device:ID`. Assignments are intervals, so the officer of a
recording whose file name does not say can be derived from its device and time. The maintenance
log gives each device a status over time (fault → repair → active; retire is final), and ingest
flags a recording made while its camera was reported faulty or retired (art. 52: a faulty
device must stop being used until the authorised service repaired it).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.vault import Vault

EVENTS = {
    "check": "例行检查（电池、存储、时钟）",
    "fault": "故障报告（停止使用）",
    "repair": "送专业部门维修完毕",
    "retire": "报废停用",
}
STATUS = {"active": "在用", "fault": "故障停用", "retired": "已报废", "unregistered": "未登记"}


def _subject(device: str) -> str:
    return f"device:{device}"


def _when(vault: Vault, text: str | None) -> str:
    if not text:
        return vault.now().isoformat(timespec="seconds")
    from zfjl.cases.store import parse_when

    return parse_when(text, vault.config.tz).isoformat(timespec="seconds")


def get_device(vault: Vault, device: str) -> dict[str, Any]:
    rows = list(vault.db.query("SELECT * FROM devices WHERE id = ?", [device]))
    if not rows:
        raise NotFoundError(f"没有登记记录仪 {device}（用 zfjl device ls 查看）")
    d = dict(rows[0])
    d["status_text"] = STATUS[d["status"]]
    d["assignments"] = list(vault.db.query(
        "SELECT officer, since, until FROM device_assignments WHERE device = ? ORDER BY since",
        [device]))  # fmt: skip
    d["officer"] = next((a["officer"] for a in d["assignments"] if not a["until"]), None)
    d["log"] = list(vault.db.query(
        "SELECT seq, at, event, note, actor FROM device_log WHERE device = ? ORDER BY at, seq",
        [device]))  # fmt: skip
    d["recordings"] = vault.conn.execute(
        "SELECT COUNT(*) FROM recordings WHERE device = ?", (device,)
    ).fetchone()[0]
    return d


def list_devices(vault: Vault, unit: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT d.*, (SELECT officer FROM device_assignments a WHERE a.device = d.id"
        " AND a.until IS NULL) AS officer FROM devices d"
    )
    params: list[Any] = []
    if unit:
        sql += " WHERE d.unit = ?"
        params.append(unit)
    return [
        {**r, "status_text": STATUS[r["status"]]}
        for r in vault.db.query(sql + " ORDER BY d.id", params)
    ]


def add_device(
    vault: Vault, device: str, *, model: str | None, serial: str | None, unit: str | None,
    assigned_to: str | None, since: str | None = None, note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    device = device.strip().upper()
    if not device:
        raise UsageError("记录仪编号不能为空")
    row = vault.conn.execute("SELECT registered FROM devices WHERE id = ?", (device,)).fetchone()
    if row and row[0]:
        raise UsageError(f"记录仪 {device} 已登记（改派用 zfjl device assign）")
    vault.record(events.DeviceAdd(
        device=device, model=model, serial=serial, unit=unit,
        assigned_to=assigned_to, since=_when(vault, since), note=note,
    ), _subject(device))  # fmt: skip
    return get_device(vault, device)


def assign(vault: Vault, device: str, officer: str, since: str | None = None) -> dict[str, Any]:
    get_device(vault, device)
    vault.record(events.DeviceAssign(device=device, officer=officer, since=_when(vault, since)),
                 _subject(device))  # fmt: skip
    return get_device(vault, device)


def log_event(
    vault: Vault, device: str, event: str, note: str | None, at: str | None = None
) -> dict[str, Any]:
    if event not in EVENTS:
        raise UsageError(f"--event 只能是：{'、'.join(f'{k}（{v}）' for k, v in EVENTS.items())}")
    d = get_device(vault, device)
    if d["status"] == "retired":
        raise UsageError(f"记录仪 {device} 已报废，不再登记维护事项")
    if event == "repair" and not (note and note.strip()):
        raise UsageError(
            "维修须写明维修单位（第五十二条：联系专业部门维修，不得私自拆装）：--note …"
        )
    vault.record(events.DeviceLog(device=device, event=event, note=note, at=_when(vault, at)),
                 _subject(device))  # fmt: skip
    return get_device(vault, device)


# -- what ingest asks ------------------------------------------------------------------------
@dataclass
class DeviceBook:
    """A snapshot of the registry for one ingest run: status and officer at any time."""

    registered: set[str] = field(default_factory=set)
    # Per device, times as UTC ISO strings (sortable), with what holds from each on.
    _status: dict[str, tuple[list[str], list[tuple[str, str]]]] = field(default_factory=dict)
    _officers: dict[str, tuple[list[str], list[tuple[str | None, str]]]] = field(
        default_factory=dict
    )

    @classmethod
    def load(cls, vault: Vault) -> DeviceBook:
        book = cls()
        for (dev,) in vault.conn.execute("SELECT id FROM devices WHERE registered = 1"):
            book.registered.add(dev)
        from zfjl.vault.catalog import DEVICE_STATUS_AFTER

        for dev, at, event in vault.conn.execute(
            "SELECT device, at, event FROM device_log ORDER BY at, seq"
        ):
            if event in DEVICE_STATUS_AFTER:
                times, states = book._status.setdefault(dev, ([], []))
                times.append(_utc(at))
                states.append((DEVICE_STATUS_AFTER[event], at))
        for dev, officer, since, until in vault.conn.execute(
            "SELECT device, officer, since, until FROM device_assignments ORDER BY since"
        ):
            starts, spans = book._officers.setdefault(dev, ([], []))
            starts.append(_utc(since))
            spans.append((_utc(until) if until else None, officer))
        for table in (book._status, book._officers):
            for dev, (keys, values) in table.items():  # bisect needs them in UTC order
                pairs = sorted(zip(keys, values, strict=True), key=lambda kv: kv[0])
                table[dev] = ([k for k, _ in pairs], [v for _, v in pairs])  # type: ignore[assignment]
        return book

    def status_at(self, device: str, when: dt.datetime) -> tuple[str, str | None]:
        """(status, since) of the device at `when`; 'active' before any fault."""
        times, states = self._status.get(device, ([], []))
        i = bisect.bisect_right(times, when.astimezone(dt.UTC).isoformat()) - 1
        return states[i] if i >= 0 else ("active", None)

    def officer_at(self, device: str, when: dt.datetime) -> str | None:
        starts, spans = self._officers.get(device, ([], []))
        key = when.astimezone(dt.UTC).isoformat()
        i = bisect.bisect_right(starts, key) - 1
        if i < 0:
            return None
        until, officer = spans[i]
        return officer if until is None or key < until else None


def _utc(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).isoformat()


def register_unknown(vault: Vault, devices: set[str], run: str) -> list[str]:
    """Devices ingest met that the registry lacks: journaled as unregistered, once each."""
    known = {r[0] for r in vault.conn.execute("SELECT id FROM devices")}
    new = sorted(d for d in devices if d and d not in known)
    if new:
        with vault.writing() as w:
            for dev in new:
                w.append(events.DeviceUnregistered(device=dev, run=run), _subject(dev))
    return new
