"""Sample cases and rule examples.

The three sample cases (`samples/*.yaml`) are complete case files used by the demo and the
tests. Each rule carries an example that passes and one that fails, written as small edits
of a sample (`remove`, `set`, `add` at a path such as
``documents[type=询问笔录]/signatures[role=当事人]``), so `zfjl rules show` can print them and
one test runs every rule both ways.
"""

from __future__ import annotations

import copy
import hashlib
import re
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from zfjl.cases.io import parse_case
from zfjl.cases.store import normalise_times
from zfjl.checklists.predicates import value_of

SAMPLES = ("penalty", "demolition", "licensing")
SEGMENT = re.compile(r"^([^\[\]]+)(?:\[([^=\]]+)=([^\]]*)\])?$")


class ExampleError(ValueError):
    pass


def sample_text(name: str) -> str:
    if name not in SAMPLES:
        raise ExampleError(f"unknown sample case {name!r}")
    return (
        resources.files("zfjl.checklists")
        .joinpath("samples", f"{name}.yaml")
        .read_text(encoding="utf-8")
    )


def offline_links(case: dict[str, Any]) -> dict[str, Any]:
    """Resolve media selectors without a vault: each (device, from, to) becomes one recording
    spanning exactly that window, stored on time. For examples and engine tests only; the
    real import resolves against the catalog (zfjl.cases.store.resolve_media)."""
    links = []
    for m in case.get("media", []):
        if "recording" in m:
            links.append({"late": False, **m})
            continue
        rid = hashlib.blake2b(f"{m['device']}{m['from']}".encode(), digest_size=32).hexdigest()
        extra = {k: v for k, v in m.items() if k not in ("device", "from", "to")}
        links.append({"recording": rid, "kind": "video", "start": m["from"], "end": m["to"],
                      "device": m["device"], "officer": None, "late": False, **extra})  # fmt: skip
    return {**case, "media": links}


def load_sample(name: str, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    case = parse_case(sample_text(name), f"样例 {name}")
    return offline_links(normalise_times(case, ZoneInfo(tz)))


def _targets(root: Any, path: str) -> list[tuple[Any, Any]]:
    segments = path.split("/")
    nodes = [root]
    found: list[tuple[Any, Any]] = []
    for i, seg in enumerate(segments):
        m = SEGMENT.match(seg)
        if not m:
            raise ExampleError(f"bad path segment {seg!r}")
        name, key, want = m.groups()
        last = i == len(segments) - 1
        following = []
        for node in nodes:
            if not isinstance(node, dict) or name not in node:
                if last and key is None and isinstance(node, dict):
                    found.append((node, name))
                continue
            if key is None:
                (found.append((node, name)) if last else following.append(node[name]))
                continue
            items = node[name]
            for idx, item in enumerate(items):
                if str(value_of(item, key)) == want:
                    (found.append((items, idx)) if last else following.append(item))
        nodes = following
    return found


def apply_edits(case: dict[str, Any], edits: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(case)
    for edit in edits:
        op = next(k for k in ("remove", "set", "add") if k in edit)
        targets = _targets(out, edit[op])
        if not targets:
            raise ExampleError(f"{op} {edit[op]}: nothing at that path")
        if op == "remove":
            for container, key in sorted(targets, key=lambda t: repr(t[1]), reverse=True):
                if isinstance(container, dict) and key not in container:
                    raise ExampleError(f"remove {edit[op]}: nothing at that path")
                del container[key]
        elif op == "set":
            for container, key in targets:
                container[key] = copy.deepcopy(edit["value"])
        else:
            for container, key in targets:
                container.setdefault(key, []).append(copy.deepcopy(edit["value"]))
    return out


def example_cases(examples: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(passing case, failing case) of a rule's examples: each is the sample with its edits."""
    sample = load_sample(examples["case"])
    return apply_edits(sample, examples.get("pass", [])), apply_edits(sample, examples["fail"])


def describe_edits(edits: list[dict[str, Any]]) -> list[str]:
    words = {"remove": "删除", "set": "改为", "add": "增加"}
    lines = []
    for e in edits:
        op = next(k for k in ("remove", "set", "add") if k in e)
        value = f"：{e['value']}" if "value" in e else ""
        lines.append(f"{words[op]} {e[op]}{value}")
    return lines
