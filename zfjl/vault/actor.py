"""Who acts: the operating-system user the kernel names (the process's UID, or a service
request's peer), never an environment variable; and who may open a vault directly."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from zfjl.errors import NotPermitted

_SERVED_UID: list[int] = []  # set once, in a service child, from the peer's SO_PEERCRED


def act_for(uid: int) -> None:
    """Called only by `zfjl serve`'s per-request child, with the UID the kernel reported for
    the connecting process: that user, not the service account, acts in every event."""
    _SERVED_UID[:] = [uid]


def served_uid() -> int | None:
    """The peer's UID in a service child (`act_for`), None in direct mode."""
    return _SERVED_UID[0] if _SERVED_UID else None


def current_actor() -> str:
    """The acting user: the process's real UID as the kernel says (or the service's peer, see
    `act_for`), named by the password database. Never LOGNAME/USER (getpass.getuser reads
    them): a clerk could set those."""
    uid = _SERVED_UID[0] if _SERVED_UID else os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def owner_name(root: Path) -> str:
    uid = root.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def refuse_foreign(root: Path) -> None:
    """Direct mode is for a vault the caller owns; a station's vault is reached through the
    service (root, who can read anything anyway, may open any)."""
    uid = os.getuid()
    owner = root.stat().st_uid
    if uid not in (0, owner):
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = f"uid:{owner}"
        raise NotPermitted(
            f"保管库 {root} 属于用户 {name}，由保管库服务管理：请不带 --vault 直接运行 zfjl"
            "（经 zfjl serve），不要直接打开它的文件"
        )
