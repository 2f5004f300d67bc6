"""The vault as a service: `zfjl serve` owns the vault; station users' commands run there."""

from zfjl.service.client import main, run_remote, service_socket
from zfjl.service.server import serve

__all__ = ["main", "run_remote", "serve", "service_socket"]
