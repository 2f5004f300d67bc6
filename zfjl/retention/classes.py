"""The retention classes as data: `classes.yaml` decides their order, which may be swept and
after how many months; each names, in `when`, one of the tests below.

The tests are code (what "held" or "case evidence" means is the catalog's business); which
test comes first, and what follows from it, is the file's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zfjl.errors import DataFileError
from zfjl.oserrors import describe

LEGAL_MINIMUM_MONTHS = 6  # art. 42: patrol footage is kept no less than 6 months
RECORDING_KINDS = {"video", "audio", "photo"}


@dataclass(frozen=True)
class Facts:
    """What classification knows of one object."""

    kind: str | None
    important: bool
    hold: str | None  # the hold in force (H-12), if any
    case_evidence: bool


# Each test gives the reason it applies (shown in the plan and the tombstone), or None.
Test = Callable[[Facts], str | None]


def _held(f: Facts) -> str | None:
    return f"长期保存 {f.hold}" if f.hold else None


def _case_evidence(f: Facts) -> str | None:
    return "已关联案件" if f.case_evidence else None


def _important_mark(f: Facts) -> str | None:
    return "现场标记为重要（IMP）" if f.important else None


def _not_media(f: Facts) -> str | None:
    return None if f.kind in RECORDING_KINDS else f"文件类型 {f.kind or '未知'}"


def _always(f: Facts) -> str | None:
    return ""


TESTS: dict[str, Test] = {
    "held": _held, "case_evidence": _case_evidence, "important_mark": _important_mark,
    "not_media": _not_media, "always": _always,
}  # fmt: skip


@dataclass(frozen=True)
class RetentionClass:
    id: str
    name: str
    basis: str
    when: str
    sweep: bool
    months: int | None = None  # required of a class that may be swept

    def applies(self, facts: Facts) -> str | None:
        return TESTS[self.when](facts)


@dataclass(frozen=True)
class RetentionClasses:
    """The classes in the order they are tried; the last applies to every recording."""

    classes: tuple[RetentionClass, ...]

    def __getitem__(self, class_id: str) -> RetentionClass:
        return next(c for c in self.classes if c.id == class_id)

    def __iter__(self) -> Iterator[RetentionClass]:
        return iter(self.classes)

    def first_applying(self, facts: Facts) -> tuple[RetentionClass, str]:
        for cls in self.classes:
            why = cls.applies(facts)
            if why is not None:
                return cls, why
        raise AssertionError("the last class is `always`: validated on load")

    def months(self, cls: RetentionClass, patrol_months: int) -> int:
        """The class's period; the `retention.patrol_months` setting may lengthen `patrol`'s."""
        months = cls.months or LEGAL_MINIMUM_MONTHS
        return max(months, patrol_months) if cls.id == "patrol" else months

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.classes}


def shipped_classes_text() -> str:
    return resources.files("zfjl.retention").joinpath("classes.yaml").read_text("utf-8")


@cache
def shipped_classes() -> RetentionClasses:
    return parse_classes(shipped_classes_text(), "zfjl/retention/classes.yaml")


def load_classes(path: Path | None = None) -> RetentionClasses:
    """The classes of a file, or the shipped ones."""
    if path is None:
        return shipped_classes()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"无法读取保存类别文件 {path}：{describe(exc)}") from None
    return parse_classes(text, str(path))


def parse_classes(text: str, origin: str) -> RetentionClasses:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataFileError(f"保存类别文件 {origin} 不是合法的 YAML：{exc}") from None
    if not isinstance(data, dict) or not data:
        raise DataFileError(f"保存类别文件 {origin}：应为“类别代号: 设置”的映射，且至少一类")
    classes = tuple(_parse_class(origin, str(cid), entry) for cid, entry in data.items())
    always = [i for i, c in enumerate(classes) if c.when == "always"]
    if always != [len(classes) - 1]:
        raise DataFileError(
            f"保存类别文件 {origin}：须且只须最后一类为 when: always"
            "（每件记录都有类别；其后的类别永远用不上）"
        )
    return RetentionClasses(classes)


def _parse_class(origin: str, cid: str, entry: Any) -> RetentionClass:
    where = f"保存类别文件 {origin} 的类别 {cid}"
    if not isinstance(entry, dict):
        raise DataFileError(f"{where}：应为含 name、basis、when、sweep 的映射")
    missing = [k for k in ("name", "basis", "when", "sweep") if k not in entry]
    if missing:
        raise DataFileError(f"{where}：缺少 {'、'.join(missing)}")
    unknown = set(entry) - {"name", "basis", "when", "sweep", "months"}
    if unknown:
        raise DataFileError(f"{where}：未知的设置 {'、'.join(sorted(unknown))}")
    if entry["when"] not in TESTS:
        raise DataFileError(f"{where}：when 只能是 {'、'.join(TESTS)}，收到 {entry['when']!r}")
    if not isinstance(entry["sweep"], bool):
        raise DataFileError(f"{where}：sweep 应为 true 或 false，收到 {entry['sweep']!r}")
    months = entry.get("months")
    if (entry["sweep"] or months is not None) and (
        type(months) is not int or months < LEGAL_MINIMUM_MONTHS
    ):
        raise DataFileError(
            f"{where}：months 须为不少于 {LEGAL_MINIMUM_MONTHS} 的整数（第四十二条；"
            f"可销毁的类别必须写明），收到 {months!r}"
        )
    return RetentionClass(cid, str(entry["name"]), str(entry["basis"]), entry["when"],
                          entry["sweep"], months)  # fmt: skip
