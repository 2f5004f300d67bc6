"""Issue 12 (6): what keeps `zfjl check` fast — the rule-pack cache and no numpy at start-up.
The figures themselves are bench/check_bench.py's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zfjl.checklists import engine
from zfjl.errors import RuleError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "zfjl"


def test_rules_from_the_cache_are_the_rules_from_yaml(cache_home: Path, tmp_path: Path) -> None:
    local = tmp_path / "rules"
    local.mkdir()
    (local / "a.yaml").write_text(
        "pack: 本局\nrules:\n  - id: R30-direct-media\n    examples: {case: penalty, fail: "
        "[{set: 'documents[id=d-r-decision]/received_at', value: 2024-05-13 10:00:00}], "
        "day: 2024-05-13}\n", "utf-8")  # fmt: skip
    fresh = engine.load_rules([local])
    (cached_file,) = cache_home.glob("rules-*.json")
    assert "$datetime" in cached_file.read_text("utf-8") and "$date" in cached_file.read_text(
        "utf-8"
    )
    again = engine.load_rules([local])
    assert again == fresh  # YAML timestamps survive the JSON round trip, as datetimes


def test_a_changed_pack_is_parsed_again_never_served_stale(
    cache_home: Path, tmp_path: Path
) -> None:
    local = tmp_path / "rules"
    local.mkdir()
    (local / "a.yaml").write_text("pack: 本局\nrules:\n  - {id: R30-direct-media, severity: error}\n",
                                  "utf-8")  # fmt: skip
    first = {r.id: r for r in engine.load_rules([local])}
    assert first["R30-direct-media"].severity == "error"
    (local / "a.yaml").write_text("pack: 本局\nrules:\n  - {id: R30-direct-media, disabled: true}\n",
                                  "utf-8")  # fmt: skip
    assert "R30-direct-media" not in {r.id for r in engine.load_rules([local])}
    (local / "a.yaml").write_text("pack: 本局\nrules: [unclosed\n", "utf-8")
    with pytest.raises(RuleError):  # a broken pack is reported, whatever is cached
        engine.load_rules([local])


def test_a_damaged_cache_is_ignored(cache_home: Path) -> None:
    fresh = engine.load_rules()
    (cached_file,) = cache_home.glob("rules-*.json")
    cached_file.write_text("{not json", "utf-8")
    assert engine.load_rules() == fresh


@pytest.mark.parametrize(
    "command", [["check", "--all"], ["verify"], ["ls"], ["show", "CASE-NONE"]]
)
def test_commands_start_without_numpy(tmp_path: Path, command: list[str]) -> None:
    """sqlite_utils would import numpy (a tenth of a second) to map column types no vault
    stores: zfjl imports it with numpy hidden, and only where it is used. Nor do these
    commands load cryptography (no signature to check in a new vault) or the service's server."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    vault = str(tmp_path / "v")
    subprocess.run([sys.executable, "-m", "zfjl", "--vault", vault, "init", "--bureau", "株洲市城市管理和综合执法局"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    code = (
        "import sys\nfrom zfjl.cli import main\n"
        f"main(['--vault', {vault!r}, *{command!r}])\n"
        "print('cryptography' in sys.modules, 'zfjl.service.server' in sys.modules)\n"
        "from zfjl.vault import Vault\n"
        f"Vault.open({vault!r}).db.table_names()\n"  # sqlite_utils itself still works
        "print('numpy' in sys.modules, 'sqlite_utils.db' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-2:] == ["False False", "False True"], proc.stderr


def test_a_pack_with_keys_json_cannot_keep_is_not_cached(cache_home: Path, tmp_path: Path) -> None:
    local = tmp_path / "rules"
    local.mkdir()
    (local / "a.yaml").write_text("pack: 本局\nrules:\n  - {id: R30-direct-media, examples: "
                                  "{case: penalty, fail: [], on: 1}}\n", "utf-8")  # fmt: skip
    rules = {r.id: r for r in engine.load_rules([local])}
    assert True in rules["R30-direct-media"].examples  # YAML 1.1: `on` is true
    assert list(cache_home.glob("rules-*.json")) == []
