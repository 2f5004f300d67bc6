"""What `zfjl bundle verify` reports: one finding per problem, each naming its file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Unproven, not wrong: a custody row newer than the bag's checkpoint; a kept checkpoint newer
# than the bag.
BUNDLE_WARNINGS = {"not_covered", "checkpoint_newer"}


@dataclass(frozen=True)
class BundleFinding:
    code: str  # checksum_mismatch | file_missing | unexpected_file | not_in_vault | vault_mismatch | custody_changed | invalid_bag
    file: str
    expected: str = ""
    found: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "file": self.file,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass
class BundleVerifyReport:
    path: str
    findings: list[BundleFinding] = field(default_factory=list)
    anchored_rows: int | None = None  # custody rows already in a kept checkpoint's log

    @property
    def ok(self) -> bool:
        return not any(f.code not in BUNDLE_WARNINGS for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "anchored_rows": self.anchored_rows,
                "findings": [f.as_dict() for f in self.findings]}  # fmt: skip
