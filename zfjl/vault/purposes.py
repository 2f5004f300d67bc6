"""What a case bundle may be made for, as journaled in `case.bundle`'s purpose: read by the
bundle that writes it and by the custody log that shows it (both import it from here, so
neither imports the other)."""

from __future__ import annotations

BUNDLE_PURPOSES: dict[str, str] = {
    "court": "向人民法院提供",
    "review": "报送法规科审查",
    "archive": "归档",
}
