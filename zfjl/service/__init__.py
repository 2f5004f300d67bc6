"""The vault as a service: `zfjl serve` owns the vault; station users' commands run there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zfjl.service.client import main, run_remote, service_socket
    from zfjl.service.server import serve

__all__ = ["main", "run_remote", "serve", "service_socket"]


def __getattr__(name: str) -> Any:
    # Re-exported on first use (PEP 562): every command imports the client, only `zfjl serve`
    # needs the server, whose imports would add to every command's start-up.
    if name == "serve":
        from zfjl.service.server import serve

        return serve
    if name in __all__:
        from zfjl.service import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
