"""Case files as YAML: read with line numbers, validate against the JSON Schema, write back.

A malformed file is refused with the field's path and its line (`第 12 行 documents[3].type：…`),
never half-imported.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zfjl.cases.doctypes import DOCTYPES
from zfjl.errors import CaseFormatError, NotFoundError


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates and times as the strings the clerk wrote."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same, on libyaml's parser (a case file in 2 ms, not 15)."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def _compose_and_load(text: str, loader_class: type[Any]) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        return root, (None if root is None else loader.construct_document(root))
    finally:
        loader.dispose()


def _read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """libyaml's parse; on an error, the pure-Python parser's again, whose messages (and
    marks) are the ones _yaml_problem words for the clerk. A text with a tab goes to the
    pure-Python parser at once: libyaml lets a tab pass where PyYAML refuses it, and a clerk
    is told of the tab either way."""
    if "\t" not in text:
        try:
            return _compose_and_load(text, _FastLoader)
        except yaml.YAMLError:
            pass
    return _compose_and_load(text, _Loader)


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


# PyYAML's problems, in words a clerk reads (the English never reaches the screen).
YAML_PROBLEMS = (
    (re.compile(r"expected ',' or '\]'"), "方括号 [ 没有闭合（缺少 ]，或列表项之间缺少逗号）"),
    (re.compile(r"expected ',' or '\}'"), "花括号 { 没有闭合（缺少 }，或项之间缺少逗号）"),
    (re.compile(r"found character '\\t'"), "含有制表符（Tab）：YAML 的缩进只能用空格"),
    (re.compile(r"mapping values are not allowed"), "此处不能出现“字段: 值”（冒号后缺空格，或缩进不对）"),
    (re.compile(r"could not find expected ':'"), "缺少冒号“:”（字段名后应有“: ”）"),
    (re.compile(r"found unexpected end of stream"), "文件意外结束（引号没有闭合？）"),
    (re.compile(r"found unknown escape character"), "双引号内有无效的转义字符“\\”（可改用单引号）"),
    (re.compile(r"expected <block end>|expected <document start>|did not find expected key"),
     "缩进不一致（同一层的字段应左对齐）"),
    (re.compile(r"did not find expected '-' indicator"), "列表缩进不一致（各项“- ”应对齐）"),
    (re.compile(r"found undefined alias|found duplicate anchor"), "别名（*、&）用法不对"),
    (re.compile(r"found character '.' that cannot start any token"), "有不能出现在此处的字符（如 @、`、%）"),
)  # fmt: skip
TYPE_NAMES = {"string": "文字", "boolean": "是否（true/false）", "array": "列表", "object": "映射（字段: 值）",
              "integer": "整数", "number": "数字", "null": "空"}  # fmt: skip
PY_TYPE_NAMES = {"str": "文字", "bool": "是否", "list": "列表", "dict": "映射", "int": "整数",
                 "float": "数字", "NoneType": "空值"}  # fmt: skip
# Keys holding a date or time (as zfjl.cases.store.TIME_KEYS), and `fields` values written as one.
TIME_KEYS = frozenset({"date", "start", "end", "received_at", "opened_at", "from", "to"})
DATE_LIKE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?([+-]\d{2}:\d{2})?)?$"
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    text = " ".join(str(getattr(exc, k, "") or "") for k in ("context", "problem"))
    for pattern, words in YAML_PROBLEMS:
        if pattern.search(text):
            return words
    return "语法错误（请检查该行的缩进、冒号、引号和括号）"


def _unknown_fields(err: Any) -> str:
    known = list((err.schema or {}).get("properties", {}))
    extra = [k for k in err.instance if k not in known] if isinstance(err.instance, dict) else []
    parts = []
    for key in extra:
        near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        parts.append(f"{key!r}" + (f"（是否应为 {near[0]}？）" if near else ""))
    allowed = f"；可用字段：{'、'.join(known)}" if known else ""
    return f"未知字段 {'、'.join(parts)}{allowed}"


def _schema_message(err: Any) -> str:
    if err.validator == "required":
        return f"缺少必填字段 {err.message.split(chr(39))[1]}"
    if err.validator == "enum":
        return f"取值 {err.instance!r} 不在允许范围内：{'、'.join(map(str, err.validator_value))}"
    if err.validator == "additionalProperties":
        return _unknown_fields(err)
    if err.validator == "minLength":
        return "不能为空"
    if err.validator == "minimum":
        return f"金额不能为负数，写的是 {err.instance!r}"
    if err.validator == "pattern":
        if str(err.validator_value).startswith("^\\d{4}"):
            return f"格式不对：{err.instance!r}（日期时间写作 2024-05-03T10:15）"
        if list(err.absolute_path) == ["case"]:
            return (
                f"案件编号 {err.instance!r} 不合规（3–64 位字母、数字、- 或 _，如 CASE-2024-031）"
            )
        return f"格式不对：{err.instance!r}（只能含字母、数字、- 和 _）"
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        have = PY_TYPE_NAMES.get(type(err.instance).__name__, type(err.instance).__name__)
        names = "或".join(TYPE_NAMES.get(str(w), str(w)) for w in wanted)
        return f"类型不对：应为{names}，实为{have} {err.instance!r}"
    return f"取值 {err.instance!r} 不符合要求"


def _impossible(text: str) -> str | None:
    """What is wrong with a date or time that has the right shape (2024-02-30, 25:52)."""
    m = DATE_LIKE.match(text)
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12:
        return f"日期 {text!r} 不存在：没有 {month} 月"
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        return f"日期 {text!r} 不存在：{year} 年 {month} 月只有 {last} 日"
    if m[4] is not None:
        hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
        if hour > 23:
            return f"时间 {text!r} 不存在：小时应为 00–23，写的是 {m[4]}"
        if minute > 59:
            return f"时间 {text!r} 不存在：分钟应为 00–59，写的是 {m[5]}"
        if second > 59:
            return f"时间 {text!r} 不存在：秒应为 00–59，写的是 {m[6]}"
    if m[7] is not None and int(m[7][1:3]) > 14:
        return f"时间 {text!r} 的时区偏移 {m[7]} 不存在"
    try:
        dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return f"日期时间 {text!r} 无法识别（应写作 2024-05-06 或 2024-05-06T10:32）"
    return None


def _check_times(data: Any, root: yaml.Node | None, origin: str, path: list[str | int],
                 in_fields: bool = False) -> None:  # fmt: skip
    """Every date and time the checks rely on must exist: the schema checks their shape only."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = [*path, key]
            if isinstance(value, str) and (key in TIME_KEYS or in_fields):
                problem = _impossible(value.strip())
                if problem:
                    raise CaseFormatError(
                        f"{origin} 第 {_line_of(root, here)} 行 {_path_text(here)}：{problem}"
                    )
            else:
                _check_times(value, root, origin, here, in_fields or key == "fields")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_times(value, root, origin, [*path, i], in_fields)


def _not_yaml(origin: str, exc: yaml.YAMLError) -> CaseFormatError:
    # An unclosed bracket is noticed at the end of the file: name where it was opened.
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
    return CaseFormatError(f"{origin} {where}不是合法的 YAML：{_yaml_problem(exc)}")


def parse_case(
    text: str, origin: str = "案件文件", doctypes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parse and validate one case file; raises CaseFormatError naming field and line. Its
    documents' types must be among `doctypes` (default: the shipped ones; a vault's are
    `vault_doctypes(vault)`)."""
    try:
        root, data = _read_yaml(text)
    except yaml.YAMLError as exc:
        raise _not_yaml(origin, exc) from None
    if not isinstance(data, dict):
        raise CaseFormatError(f"{origin}：应为一个案件（含 case、kind、documents 等字段的映射）")
    import jsonschema  # imported here: `zfjl check` never needs it

    validator = jsonschema.Draft202012Validator(case_schema())
    err = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if err is not None:
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = (err.schema or {}).get("properties", {})
            path += [k for k in err.instance if k not in known][:1]  # the misspelt key's line
        raise CaseFormatError(
            f"{origin} 第 {_line_of(root, path)} 行 {_path_text(path)}：{_schema_message(err)}"
        )
    _check_times(data, root, origin, [])
    _check_references(data, root, origin, DOCTYPES if doctypes is None else doctypes)
    return data


def parse_document(text: str, origin: str = "文书文件") -> dict[str, Any]:
    """One document (`zfjl case doc`) read as `parse_case` reads a case file: dates stay the
    text the clerk wrote (a bare `2024-06-02` is not a YAML date object), and what is not a
    mapping with an `id` is refused naming the file. The document is validated in its case
    (`add_document`)."""
    try:
        _, data = _read_yaml(text)
    except yaml.YAMLError as exc:
        raise _not_yaml(origin, exc) from None
    if not isinstance(data, dict):
        raise CaseFormatError(f"{origin}：应为一份文书（含 id、type、date 等字段的映射）")
    if not isinstance(data.get("id"), str) or not data["id"].strip():
        raise CaseFormatError(f"{origin}：文书缺少代号 id（如 id: d-notice）")
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


def media_locations(text: str, origin: str) -> list[str]:
    """Where each `media` entry of a case file is (`file 第 N 行 media[i]`), for messages about
    entries that are well-formed but name footage the vault does not hold."""
    try:
        root, _ = _read_yaml(text)
    except yaml.YAMLError:
        return []
    media = root.value if isinstance(root, yaml.MappingNode) else []
    for key, value in media:
        if key.value == "media" and isinstance(value, yaml.SequenceNode):
            return [
                f"{origin} 第 {node.start_mark.line + 1} 行 media[{i}]"
                for i, node in enumerate(value.value)
            ]
    return []


def read_case_file(path: Path, doctypes: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"找不到案件文件：{path}") from None
    except UnicodeDecodeError:
        raise CaseFormatError(f"案件文件 {path} 不是 UTF-8 编码（请另存为 UTF-8）") from None
    return parse_case(text, str(path), doctypes)


def dump_case(case: dict[str, Any]) -> str:
    """A case as its case file: keys in the documented order (the schema's, as in
    docs/case-format.md: `case`, `kind` … `documents`, `media`; a document's `id`, `type`
    first), times unquoted as the clerk writes them, so that an error on re-import points at
    the field a person sees where they expect it."""
    return str(yaml.dump(_in_schema_order(case, "case"), Dumper=_Dumper, allow_unicode=True,
                         sort_keys=False, width=100))  # fmt: skip


_CHILDREN = {  # key -> the kind of each of its items (or of its value)
    "case": {"documents": "document", "media": "media", "party": "party", "flags": "flags"},
    "document": {"officers": "person", "signatures": "signature", "refusals": "refusal"},
}


@lru_cache(maxsize=1)
def _key_orders() -> dict[str, list[str]]:
    """The order of keys of each kind of object: case.schema.json's (the documented order)."""
    schema = case_schema()
    orders = {name: list(d.get("properties", {})) for name, d in schema["$defs"].items()}
    top = schema["properties"]
    return {"case": list(top), "party": list(top["party"].get("properties", {})),
            "flags": list(top["flags"].get("properties", {})), **orders}  # fmt: skip


def _in_schema_order(value: dict[str, Any], kind: str) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(_key_orders().get(kind, []))}
    ordered: dict[str, Any] = {}
    for k in sorted(value, key=lambda k: (rank.get(k, len(rank)), str(k))):
        child, v = _CHILDREN.get(kind, {}).get(k), value[k]
        if child and isinstance(v, list):
            v = [_in_schema_order(x, child) if isinstance(x, dict) else x for x in v]
        elif child and isinstance(v, dict):
            v = _in_schema_order(v, child)
        ordered[k] = v
    return ordered


class _Dumper(yaml.SafeDumper):
    """Writes a date or time plainly (`date: 2024-05-06T10:32:00+08:00`), as the clerk does:
    without the timestamp resolver a time needs no quotes to stay text, and zfjl reads it
    back as text (`_Loader`)."""


_Dumper.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()
}

