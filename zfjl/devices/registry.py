"""The registry: devices, their assignments and upkeep, each change a journal event on
`device:ID`; and the devices ingest met that the registry lacks."""

from __future__ import annotations

from typing import Any

from zfjl.dates import parse_moment
from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.queries import devices as q
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
    return parse_moment(text, "时间", vault.config.tz).at.isoformat(timespec="seconds")


def get_device(vault: Vault, device: str) -> dict[str, Any]:
    row = q.device(vault, device)
    if row is None:
        raise NotFoundError(f"没有登记记录仪 {device}（用 zfjl device ls 查看）")
    d: dict[str, Any] = dict(row)
    d["status_text"] = STATUS[d["status"]]
    assignments = q.device_assignments(vault, device)
    d["assignments"] = assignments
    d["officer"] = next((a["officer"] for a in assignments if not a["until"]), None)
    d["log"] = q.device_log(vault, device)
    d["recordings"] = q.count_device_recordings(vault, device)
    return d


def list_devices(vault: Vault, unit: str | None = None) -> list[dict[str, Any]]:
    return [{**r, "status_text": STATUS[r["status"]]} for r in q.devices_with_officer(vault, unit)]


def add_device(
    vault: Vault, device: str, *, model: str | None, serial: str | None, unit: str | None,
    assigned_to: str | None, since: str | None = None, note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    device = device.strip().upper()
    if not device:
        raise UsageError("记录仪编号不能为空")
    if q.is_registered(vault, device):
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



def register_unknown(vault: Vault, devices: set[str], run: str) -> list[str]:
    """Devices ingest met that the registry lacks: journaled as unregistered, once each."""
    known = q.known_device_ids(vault)
    new = sorted(d for d in devices if d and d not in known)
    if new:
        with vault.writing() as w:
            for dev in new:
                w.append(events.DeviceUnregistered(device=dev, run=run), _subject(dev))
    return new
