"""Derivatives of recordings (issue 26): playable proxies, redacted copies, face proposals and
the disclosure of a redacted copy to a party (art. 44). The library the CLI (`zfjl redact`,
`zfjl disclose`) and the browser pages call; docs/redact.md describes it."""

from zfjl.redact.derivatives import (
    KIND_NAMES,
    PROXY,
    REDACTION,
    Derivative,
    get_derivative,
    is_playable,
    list_derivatives,
    needs_proxy,
    playable_proxy,
    redact,
)
from zfjl.redact.spec import Box, RedactionSpec, Span, parse_box, parse_span

__all__ = [
    "KIND_NAMES", "PROXY", "REDACTION", "Box", "Derivative", "RedactionSpec", "Span",
    "get_derivative", "is_playable", "list_derivatives", "needs_proxy", "parse_box",
    "parse_span", "playable_proxy", "redact",
]  # fmt: skip
