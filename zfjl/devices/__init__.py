"""The device registry (arts. 48, 51, 52): cameras, who carried which when, their upkeep.

Every change is a journal event on `device:ID`. Assignments are intervals, so the officer of a
recording whose file name does not say can be derived from its device and time. The maintenance
log gives each device a status over time (fault → repair → active; retire is final), and ingest
flags a recording made while its camera was reported faulty or retired (art. 52: a faulty
device must stop being used until the authorised service repaired it).

Modules: `registry` (the register and its changes), `book` (what ingest asks of it).
"""

from zfjl.devices.book import DeviceBook
from zfjl.devices.registry import (
    EVENTS,
    STATUS,
    add_device,
    assign,
    get_device,
    list_devices,
    log_event,
    register_unknown,
)

__all__ = [
    "EVENTS", "STATUS", "DeviceBook", "add_device", "assign", "get_device", "list_devices",
    "log_event", "register_unknown",
]  # fmt: skip
