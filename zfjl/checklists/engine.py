"""Rule packs (data) and the check of a case against them.

A rule is one requirement: id, article, stage, when it applies, which predicate checks it and
with what parameters, severity, a Chinese message and a fix hint. Packs are YAML files: the
built-in ones in `zfjl/checklists/rules/`, then the vault's `rules/` folder (art. 56: a county
bureau adds or overrides rules without touching code; a rule with an existing id replaces it,
`disabled: true` removes it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zfjl.cases.doctypes import STAGES
from zfjl.checklists.amounts import AMOUNT_PREDICATES
from zfjl.checklists.predicates import (
    FAIL,
    NA,
    PASS,
    PENDING,
    CaseView,
    Context,
    Outcome,
    _day,
    _endpoint,
    _limit,
)
from zfjl.checklists.predicates import PREDICATES as BASIC_PREDICATES
from zfjl.checklists.progress import STAGE_INDEX
from zfjl.errors import RuleError

PREDICATES = {**BASIC_PREDICATES, **AMOUNT_PREDICATES}

SEVERITIES = ("error", "warning")
# libyaml's loader when PyYAML was built with it: it parses the packs 10x faster, and every
# `zfjl check` starts by reading them.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SYMBOL = {"pass": "✔", "fail": "✘", "warn": "⚠", "unknown": "⚠", "pending": "○", "na": "不适用"}
STATUS_NAME = {
    "pass": "符合",
    "fail": "违反",
    "warn": "警示",
    "unknown": "无法判断",
    "pending": "待办",
    "na": "不适用",
}
STATUSES = ("pass", "fail", "warn", "unknown", "pending", "na")
CLOSED = ("已结案", "已归档")


@dataclass(frozen=True)
class Rule:
    id: str
    article: str
    stage: str
    title: str
    check: dict[str, Any]
    severity: str
    message: str
    fix: str
    when: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)
    basis: str = "行政执法全过程记录制度"
    text: str = ""  # the statute's words, for rules outside the regulation
    due: dict[str, Any] = field(default_factory=dict)  # when a requirement falls due (待办)
    pack: str = "core"

    @property
    def kind(self) -> str:
        return str(self.check["kind"])

    @cached_property
    def not_applicable(self) -> Finding:
        """This rule's 不适用 finding: the same for every case it does not apply to, made once
        (most rules do not apply to any one case; `check --all` met them 10,000 times each)."""
        return Finding(self.id, self.article, self.stage, NA, self.title, "", "本案不适用", "", "")


@dataclass(slots=True)
class Finding:
    rule: str
    article: str
    stage: str
    status: str  # pass | fail | warn | unknown | na
    title: str
    expected: str
    found: str
    message: str
    fix: str
    due: str | None = None  # pending (待办): the day it falls due (ISO), when there is one

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "symbol": self.symbol, "status_name": STATUS_NAME[self.status]}


@dataclass
class CaseReport:
    case: str
    findings: list[Finding]

    def count(self, status: str) -> int:
        return sum(1 for f in self.findings if f.status == status)

    def pending(self) -> list[Finding]:
        """Requirements not yet due (待办), earliest due first (those without a day last)."""
        items = [f for f in self.findings if f.status == PENDING]
        return sorted(items, key=lambda f: (f.due is None, f.due or "", f.rule))

    @property
    def verdict(self) -> str:
        if self.count("fail"):
            return "violations"
        if self.count("warn") or self.count("unknown"):
            return "warnings"
        return "pass"

    def by_stage(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {s: [] for s in STAGES}
        for f in self.findings:
            out.setdefault(f.stage, []).append(f)
        return out

    def verdict_line(self) -> str:
        fails, warns = self.count("fail"), self.count("warn") + self.count("unknown")
        head = {"pass": "✔ 符合", "warnings": "⚠ 基本符合，有警示", "violations": "✘ 不符合"}
        return (f"{head[self.verdict]}：违反 {fails} 项，警示/无法判断 {warns} 项，"
                f"待办 {self.count('pending')} 项，符合 {self.count('pass')} 项，"
                f"不适用 {self.count('na')} 项")  # fmt: skip

    def summary_dict(self) -> dict[str, Any]:
        """Per stage counts and only the findings that need attention: what --all prints."""
        stages = {
            stage: {s: sum(1 for f in fs if f.status == s) for s in STATUSES}
            for stage, fs in self.by_stage().items()
        }
        problems = [f.as_dict() for f in self.findings
                    if f.status not in ("pass", "na", PENDING)]  # fmt: skip
        return {"case": self.case, "verdict": self.verdict, "stages": stages, "problems": problems,
                "pending": [f.as_dict() for f in self.pending()]}  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "verdict": self.verdict,
            "summary": {s: self.count(s) for s in STATUSES},
            "findings": [f.as_dict() for f in self.findings],
            "pending": [f.as_dict() for f in self.pending()],
        }


# -- loading ----------------------------------------------------------------------------------
REQUIRED = ("id", "article", "stage", "title", "check", "severity", "message", "fix")


def _rule_from(data: dict[str, Any], pack: str, origin: str) -> Rule:
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise RuleError(
            f"规则包 {origin} 中的规则 {data.get('id', '?')} 缺少：{'、'.join(missing)}"
        )
    if data["stage"] not in STAGES:
        raise RuleError(
            f"规则 {data['id']}：未知环节 {data['stage']!r}（可选：{'、'.join(STAGES)}）"
        )
    if data["check"].get("kind") not in PREDICATES:
        raise RuleError(f"规则 {data['id']}：未知检查类型 {data['check'].get('kind')!r}")
    if data["severity"] not in SEVERITIES:
        raise RuleError(f"规则 {data['id']}：severity 只能是 error 或 warning")
    if not isinstance(data.get("due", {}), dict):
        raise RuleError(f"规则 {data['id']}：due 应为映射（stage、after、closed、by）")
    known = set(REQUIRED) | {"when", "examples", "basis", "text", "due", "disabled"}
    fields = {k: v for k, v in data.items() if k in known and k != "disabled"}
    return Rule(**fields, pack=pack)


def _read_pack(text: str, origin: str) -> tuple[str, list[dict[str, Any]]]:
    try:
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        raise RuleError(f"规则包 {origin} 不是合法的 YAML：{exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"规则包 {origin}：应含 pack 与 rules 列表")
    return str(data.get("pack", origin)), data["rules"]


def builtin_pack_texts() -> list[tuple[str, str]]:
    folder = resources.files("zfjl.checklists").joinpath("rules")
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir()
                  if f.name.endswith(".yaml"))  # fmt: skip


# Parsed packs are kept in the user's cache, named by a digest of every pack's name and text:
# a changed pack is a new name, never a stale rule. YAML takes ~20 ms a start; JSON ~1 ms.
PACK_CACHE_FORMAT = "1"


def _cache_path(texts: list[tuple[str, str]]) -> Path | None:
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory
        return None
    digest = hashlib.sha256(PACK_CACHE_FORMAT.encode())
    for origin, text in texts:
        digest.update(f"\0{origin}\0{text}".encode())
    return base / "zfjl" / f"rules-{digest.hexdigest()[:32]}.json"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(type(value).__name__)


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$datetime" in obj:
        return dt.datetime.fromisoformat(obj["$datetime"])
    if len(obj) == 1 and "$date" in obj:
        return dt.date.fromisoformat(obj["$date"])
    return obj


def _string_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _string_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_string_keys(v) for v in value)
    return True


def _parsed_packs(texts: list[tuple[str, str]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(pack name, rule items) of each text, from the cache when it holds them."""
    path = _cache_path(texts)
    if path is not None:
        try:
            cached = json.loads(path.read_text("utf-8"), object_hook=_decode)
            return [(str(name), items) for name, items in cached]
        except (OSError, ValueError, TypeError):
            pass
    parsed = [_read_pack(text, origin) for origin, text in texts]  # errors are never cached
    if path is not None and _string_keys(parsed):  # JSON would turn other keys into strings
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(parsed, ensure_ascii=False, default=_encode), "utf-8")
            os.replace(tmp, path)
        except (OSError, TypeError, ValueError):
            pass
    return parsed


def load_rules(
    extra_dirs: Iterable[Path] = (), *, texts: Iterable[tuple[str, str]] = ()
) -> list[Rule]:
    """Built-in packs, then `texts` ((origin, text): a vault's installed packs, read and
    checked by zfjl.vault.custom), then each extra folder's *.yaml in name order (later ones
    override)."""
    texts = [*builtin_pack_texts(), *texts]
    for folder in extra_dirs:
        if folder.is_dir():
            texts += [
                (str(p), p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))
            ]
    rules: dict[str, Rule] = {}
    for (origin, _), (pack, items) in zip(texts, _parsed_packs(texts), strict=True):
        for item in items:
            rid = str(item.get("id"))
            if item.get("disabled"):
                rules.pop(rid, None)
                continue
            if rid in rules and "check" not in item:
                rules[rid] = _merge(rules[rid], item, pack, origin)
            else:
                rules[rid] = _rule_from(item, pack, origin)
    return list(rules.values())


def _merge(base: Rule, patch: dict[str, Any], pack: str, origin: str) -> Rule:
    """An override naming only some keys (say, severity) keeps the rest of the rule."""
    data = {**asdict(base), **patch}
    data.pop("pack", None)
    return _rule_from(data, pack, origin)


def find_rule(rules: list[Rule], rule_id: str) -> Rule:
    for r in rules:
        if r.id == rule_id:
            return r
    raise RuleError(f"没有规则 {rule_id}（用 zfjl rules ls 查看）")


# -- checking ---------------------------------------------------------------------------------
def applies(rule: Rule, view: CaseView) -> bool:
    if not rule.when:
        return True
    case = view.case
    by_type = view.by_type
    for key, want in rule.when.items():
        if key == "has":
            if not any(by_type.get(t) for t in (want if isinstance(want, list) else [want])):
                return False
        elif key == "has_service":
            if not view.of_types(["送达回证"], {"method": want}):
                return False
        elif key == "flags":
            flags = case.get("flags", {})
            if any(bool(flags.get(k)) != v for k, v in want.items()):
                return False
        else:
            have = case.get(key)
            if isinstance(want, list) and have not in want:
                return False
            if not isinstance(want, list) and have != want:
                return False
    return True


def due_state(rule: Rule, view: CaseView, ctx: Context) -> tuple[bool, dt.date | None]:
    """Whether a requirement has fallen due for this case, and the day it does (if known).

    Everything is due in a closed case. In an open one a requirement falls due when any of
    its triggers holds (the rule's `due:`): the case has moved past `stage` (default: the
    rule's own stage), a document of the `after` types is on file, or the day given by `by`
    (a deadline from an event: `from`, `max`, `unit`) has passed. `closed: true`: due only
    once the case is closed (the day, if `by` names one, is still shown)."""
    spec = rule.due
    day: dt.date | None = None
    if "by" in spec:
        by = spec["by"]
        starts = [t for _, t in _endpoint(view, by["from"], ctx)]
        if starts:
            limit = _limit(min(starts), int(by.get("max", 0)), by.get("unit", "days"), ctx)
            day = _day(limit, ctx.tz) if limit is not None else None
    if not view.is_open:
        return True, day
    if spec.get("closed"):
        return False, day
    if view.reached > STAGE_INDEX[spec.get("stage", rule.stage)]:
        return True, day
    if spec.get("after") and view.of_types(spec["after"]):
        return True, day
    return (day is not None and day < ctx.today), day


def evaluate(rule: Rule, view: CaseView, ctx: Context) -> Finding:
    if not applies(rule, view):  # most rules, for any one case: answered without a predicate
        return rule.not_applicable
    outcome = PREDICATES[rule.check["kind"]](view, rule.check, ctx)
    if outcome.status == FAIL and (outcome.missing or rule.due.get("closed")):
        due, day = due_state(rule, view, ctx)
        if not due:
            when = f"，最迟 {day.isoformat()}" if day else ""
            outcome = Outcome(PENDING, outcome.expected, f"尚未到期{when}：{outcome.found}", day)
    status = outcome.status
    if status == "fail" and rule.severity == "warning":
        status = "warn"
    attention = status not in (PASS, NA)
    return Finding(rule.id, rule.article, rule.stage, status, rule.title, outcome.expected,
                   outcome.found, rule.message if attention else "", rule.fix if attention else "",
                   outcome.due.isoformat() if outcome.due else None)  # fmt: skip


def check_case(case: dict[str, Any], rules: list[Rule], ctx: Context,
               skewed: frozenset[str] = frozenset()) -> CaseReport:  # fmt: skip
    """Every rule on one case. `skewed`: recordings flagged for clock skew at ingest."""
    view = CaseView(case, skewed)
    return CaseReport(case["case"], [evaluate(r, view, ctx) for r in rules])


__all__ = ["CaseReport", "Finding", "Rule", "check_case", "load_rules"]
