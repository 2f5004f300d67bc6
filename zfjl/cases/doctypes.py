"""The standard enforcement documents (执法文书) a case file may hold, by stage (art. 3), as data.

The shipped list is `doctypes.yaml` (stage → types). A vault adds types of its own in
`<vault>/doctypes/*.yaml`, in the same form, read in name order after the shipped file — as a
vault's `rules/` folder adds rule packs — once an administrator installed them (`zfjl custom
add doctypes FILE --approval 文号`; see zfjl/vault/custom.py). The stages are the regulation's: a file may add types
to them, not add stages; a type belongs to one stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zfjl.errors import DataFileError

SHIPPED = "zfjl/cases/doctypes.yaml"
# libyaml when PyYAML has it: every `zfjl check` reads this file as it starts.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _shipped_text() -> str:
    return resources.files("zfjl.cases").joinpath("doctypes.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def _shipped() -> dict[str, list[str]]:
    return parse_doctypes(_shipped_text(), SHIPPED)


def parse_doctypes(text: str, origin: str) -> dict[str, list[str]]:
    """One file's stage → types, checked for form (not yet against the stages)."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise DataFileError(f"文书类型文件 {origin} 不是合法的 YAML：{exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFileError(f"文书类型文件 {origin}：应为“环节: [文书类型, …]”的映射")
    out: dict[str, list[str]] = {}
    for stage, types in data.items():
        if not isinstance(types, list) or not all(isinstance(t, str) and t.strip() for t in types):
            raise DataFileError(f"文书类型文件 {origin} 的 {stage}：应为文书类型名称的列表")
        out[str(stage)] = [t.strip() for t in types]
    return out


def _merge(into: dict[str, str], stages: tuple[str, ...], extra: dict[str, list[str]],
           origin: str) -> None:  # fmt: skip
    for stage, types in extra.items():
        if stage not in stages:
            raise DataFileError(
                f"文书类型文件 {origin}：未知环节 {stage!r}（可选：{'、'.join(stages)}）"
            )
        for t in types:
            if into.get(t, stage) != stage:
                raise DataFileError(
                    f"文书类型文件 {origin}：{t} 已属于 {into[t]}，不能再列入 {stage}"
                )
            into[t] = stage


def load_doctypes(
    extra_dirs: Iterable[Path] = (), *, texts: Iterable[tuple[str, str]] = ()
) -> dict[str, str]:
    """Type → stage: the shipped types, then `texts` ((origin, text): a vault's installed
    files, read and checked by zfjl.vault.custom), then each folder's *.yaml in name order."""
    shipped = {stage: list(types) for stage, types in _shipped().items()}
    stages = tuple(shipped)
    doctypes: dict[str, str] = {}
    _merge(doctypes, stages, shipped, SHIPPED)
    for origin, text in texts:
        _merge(doctypes, stages, parse_doctypes(text, origin), origin)
    for folder in extra_dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                _merge(doctypes, stages, parse_doctypes(path.read_text("utf-8"), str(path)),
                       str(path))  # fmt: skip
    return doctypes


def vault_doctypes(vault: Any) -> dict[str, str]:
    """The shipped types and the vault's own (`<vault>/doctypes/*.yaml`, those an
    administrator installed; any other file there is warned about and not loaded)."""
    from zfjl.vault.custom import trusted_files

    return load_doctypes(texts=trusted_files(vault, "doctypes"))


STAGES: tuple[str, ...] = tuple(_shipped())
DOCTYPES: dict[str, str] = load_doctypes()  # the shipped types only
