"""Case files as YAML: read with line numbers, validate against the JSON Schema, write back.

A malformed file is refused with the field's path and its line (`第 12 行 documents[3].type：…`),
never half-imported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zfjl.cases.doctypes import DOCTYPES
from zfjl.errors import CaseFormatError, NotFoundError


class _Loader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that keeps dates and times as the strings the clerk wrote."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    text = resources.files("zfjl.cases").joinpath("case.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _line_of(node: yaml.Node | None, path: list[str | int]) -> int | None:
    """The 1-based line of the value at `path` in a composed YAML tree."""
    best = node
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        best = node
    return best.start_mark.line + 1 if best is not None else None


def _path_text(path: list[str | int]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "（顶层）"


def _schema_message(err: Any) -> str:
    if err.validator == "required":
        return f"缺少必填字段 {err.message.split(chr(39))[1]}"
    if err.validator == "enum":
        return f"取值 {err.instance!r} 不在允许范围内：{'、'.join(map(str, err.validator_value))}"
    if err.validator == "additionalProperties":
        return f"有未知字段（{err.message}）"
    if err.validator == "pattern":
        if str(err.validator_value).startswith("^\\d{4}"):
            return f"格式不对：{err.instance!r}（日期时间写作 2024-05-03T10:15）"
        if list(err.absolute_path) == ["case"]:
            return (
                f"案件编号 {err.instance!r} 不合规（3–64 位字母、数字、- 或 _，如 CASE-2024-031）"
            )
        return f"格式不对：{err.instance!r}（只能含字母、数字、- 和 _）"
    if err.validator == "type":
        return f"类型不对：应为 {err.validator_value}，实为 {type(err.instance).__name__}"
    return str(err.message)


def parse_case(
    text: str, origin: str = "案件文件", doctypes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parse and validate one case file; raises CaseFormatError naming field and line. Its
    documents' types must be among `doctypes` (default: the shipped ones; a vault's are
    `vault_doctypes(vault)`)."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        # An unclosed bracket is noticed at the end of the file: name where it was opened.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise CaseFormatError(
            f"{origin} {where}不是合法的 YAML：{getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise CaseFormatError(f"{origin}：应为一个案件（含 case、kind、documents 等字段的映射）")
    import jsonschema  # imported here: `zfjl check` never needs it

    validator = jsonschema.Draft202012Validator(case_schema())
    err = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if err is not None:
        path = list(err.absolute_path)
        raise CaseFormatError(
            f"{origin} 第 {_line_of(root, path)} 行 {_path_text(path)}：{_schema_message(err)}"
        )
    _check_references(data, root, origin, DOCTYPES if doctypes is None else doctypes)
    return data


def _check_references(
    data: dict[str, Any], root: yaml.Node | None, origin: str, doctypes: Mapping[str, str]
) -> None:
    docs = data.get("documents", [])
    seen: set[str] = set()
    for i, doc in enumerate(docs):
        where = f"{origin} 第 {_line_of(root, ['documents', i])} 行 documents[{i}]"
        if doc["type"] not in doctypes:
            raise CaseFormatError(
                f"{where}：未知的文书类型 {doc['type']!r}（可用类型见 zfjl rules doctypes）"
            )
        if doc["id"] in seen:
            raise CaseFormatError(f"{where}：文书代号 {doc['id']!r} 重复")
        seen.add(doc["id"])
    for i, doc in enumerate(docs):
        if doc.get("serves") and doc["serves"] not in seen:
            where = f"{origin} 第 {_line_of(root, ['documents', i, 'serves'])} 行"
            raise CaseFormatError(
                f"{where} documents[{i}].serves：本案没有代号为 {doc['serves']!r} 的文书"
            )
    for i, link in enumerate(data.get("media", [])):
        where = f"{origin} 第 {_line_of(root, ['media', i])} 行 media[{i}]"
        if link.get("document") and link["document"] not in seen:
            raise CaseFormatError(f"{where}：本案没有代号为 {link['document']!r} 的文书")
        if not link.get("recording") and not (link.get("device") and link.get("from")):
            raise CaseFormatError(
                f"{where}：须写 recording（编号），或 device 与 from/to（时间段）"
            )


def read_case_file(path: Path, doctypes: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"找不到案件文件：{path}") from None
    except UnicodeDecodeError:
        raise CaseFormatError(f"案件文件 {path} 不是 UTF-8 编码（请另存为 UTF-8）") from None
    return parse_case(text, str(path), doctypes)


def dump_case(case: dict[str, Any]) -> str:
    return str(yaml.safe_dump(case, allow_unicode=True, sort_keys=False, width=100))
