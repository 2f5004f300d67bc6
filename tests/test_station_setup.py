"""`zfjl station setup` run again, and refused (issue 27): an existing station keeps its
bureau and administrators and says so (a usage error when asked for others, nothing changed);
an interpreter the service account cannot run is refused before anything is made, naming it.

Real OS accounts made by the test (CI runs as root), in a private prefix as tests/test_service.py
does; no server is started.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import zfjl_run
from tests.test_service import _ensure_user, _reachable_install
from zfjl.errors import UsageError
from zfjl.service.station import SetupReport, StationLayout, setup_station

SERVICE, ADMIN, OTHER = "zfjltest_setsvc", "zfjltest_setadm", "zfjltest_setoth"
BUREAU = "测试市城市管理综合执法局"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a station is set up as root")


def _layout(base: Path, account: str = SERVICE) -> StationLayout:
    return StationLayout(account=account, state=base / "var" / "zfjl", etc=base / "etc",
                         run=base / "run", units=base / "units", bin=base / "bin")  # fmt: skip


def _remove_account(name: str) -> None:
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture(scope="module")
def station() -> Iterator[tuple[StationLayout, SetupReport]]:
    for name in (ADMIN, OTHER):
        _ensure_user(name)
    base = Path(tempfile.mkdtemp(prefix="zfjl-setup-"))
    os.chmod(base, 0o755)
    layout = _layout(base)
    try:
        with _reachable_install():
            report = setup_station(layout, bureau=BUREAU, admins=[ADMIN], approval_no="站设〔2026〕1号",
                                   check_install=False, start=False)  # fmt: skip
            yield layout, report
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for name in (ADMIN, OTHER, SERVICE):
            _remove_account(name)


def _snapshot(layout: StationLayout) -> dict[str, tuple[int, int]]:
    """Every file of the station (its vault included) with its size and mtime."""
    found = {}
    for folder in (layout.state, layout.etc, layout.units, layout.bin):
        for path in folder.rglob("*"):
            if path.is_file():
                st = path.stat()
                found[str(path)] = (st.st_size, st.st_mtime_ns)
    return found


def test_a_second_setup_with_another_bureau_is_refused_and_changes_nothing(
    station: tuple[StationLayout, SetupReport],
) -> None:
    layout, _ = station
    before = _snapshot(layout)
    with pytest.raises(UsageError) as refused:
        setup_station(layout, bureau="另一市城市管理局", admins=[ADMIN], approval_no="站设〔2026〕2号",
                      check_install=False, start=False)  # fmt: skip
    message = refused.value.message
    assert BUREAU in message and "另一市城市管理局" in message and "未作任何改动" in message
    assert "zfjl config set bureau" in message
    assert _snapshot(layout) == before


def test_a_second_setup_with_another_admin_is_refused_and_says_how_to_add_one(
    station: tuple[StationLayout, SetupReport],
) -> None:
    layout, _ = station
    before = _snapshot(layout)
    with pytest.raises(UsageError) as refused:
        setup_station(layout, bureau=BUREAU, admins=[OTHER], approval_no="站设〔2026〕2号",
                      check_install=False, start=False)  # fmt: skip
    message = refused.value.message
    assert f"管理员：{ADMIN}" in message and f"{OTHER} 不是其管理员" in message
    assert f"zfjl role add {OTHER} admin" in message
    assert _snapshot(layout) == before


def test_a_second_setup_as_the_first_says_the_station_is_kept(
    station: tuple[StationLayout, SetupReport],
) -> None:
    layout, _ = station
    again = setup_station(layout, bureau=BUREAU, admins=[ADMIN], approval_no="站设〔2026〕1号",
                          check_install=False, start=False)  # fmt: skip
    assert again.done == []
    assert any("沿用，未改动" in n and BUREAU in n and ADMIN in n for n in again.notes)


def test_the_command_exits_2_and_prints_the_kept_bureau(
    station: tuple[StationLayout, SetupReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, _ = station
    import zfjl.service.station as station_module

    monkeypatch.setattr(station_module, "StationLayout", lambda: layout)
    monkeypatch.setattr(station_module, "_check_installation", lambda account: None)
    proc = zfjl_run("station", "setup", "--bureau", "另一市城市管理局", "--no-start")
    assert proc.returncode == 2, proc.stderr
    assert "站点设置完成" not in proc.stdout
    assert BUREAU in proc.stderr and "未作任何改动" in proc.stderr
    same = zfjl_run("station", "setup", "--bureau", BUREAU, "--no-start")
    assert same.returncode == 0, same.stderr
    assert "沿用，未改动" in same.stdout and "本次未作改动" in same.stdout


@pytest.fixture
def pyenv_venv(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A venv in a public folder whose python is a symlink to an interpreter under a 0700 home
    (root's pyenv): sys.executable points at the venv's, as when run as /opt/zfjl/bin/zfjl."""
    base = Path(tempfile.mkdtemp(prefix="zfjl-pyenv-"))
    os.chmod(base, 0o755)
    home = base / "root"
    interpreter = home / ".pyenv" / "versions" / "3.11.7" / "bin" / "python3.11"
    interpreter.parent.mkdir(parents=True)
    shutil.copy(sys.executable, interpreter)
    os.chmod(home, 0o700)
    venv_python = base / "opt" / "zfjl" / "bin" / "python3"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(interpreter)
    for folder in (base / "opt", base / "opt" / "zfjl", venv_python.parent):
        os.chmod(folder, 0o755)
    monkeypatch.setattr(sys, "executable", str(venv_python))
    try:
        yield interpreter, venv_python
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_pyenv_interpreter_is_refused_before_anything_is_made_naming_it(
    pyenv_venv: tuple[Path, Path], tmp_path: Path
) -> None:
    interpreter, venv_python = pyenv_venv
    account = "zfjltest_setnew"
    _remove_account(account)
    layout = _layout(tmp_path / "station", account)
    try:
        with pytest.raises(UsageError) as refused:
            setup_station(layout, bureau=BUREAU, admins=[], start=False)
        message = refused.value.message
        assert str(interpreter) in message and "pyenv" in message
        assert str(interpreter.parents[4]) in message  # the 0700 folder that stops the account
        assert str(venv_python) in message and "/usr/bin/python3 -m venv /opt/zfjl" in message
        with pytest.raises(KeyError):
            pwd.getpwnam(account)  # the account was not created
        assert not (tmp_path / "station").exists()
    finally:
        _remove_account(account)
