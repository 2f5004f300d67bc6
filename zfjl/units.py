"""Amounts in the unit a person thinks in, for messages the library writes (journaled
warnings, reports): a clock off by 51513762 seconds is "约 596 天"."""

from __future__ import annotations


def approx_seconds(seconds: float) -> str:
    """40 秒, 约 12 分钟, 约 3 小时, 约 596 天."""
    s = abs(float(seconds))
    if s < 60:
        return f"{round(s)} 秒"
    if s < 3600:
        return f"约 {round(s / 60)} 分钟"
    if s < 86400 * 2:
        return f"约 {round(s / 3600)} 小时"
    return f"约 {round(s / 86400)} 天"
