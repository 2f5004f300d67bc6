"""The acting user comes from the kernel (the real UID), never from the environment; an access
is journaled before the first byte of the copy leaves."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfjl.access import add_grant, export, view
from zfjl.access import reads as access_reads
from zfjl.bundle import bundle_case
from zfjl.errors import AccessDenied, NotPermitted
from zfjl.vault import Vault
from zfjl.vault.vault import current_actor

from .conftest import as_uid, set_roles, zfjl_cli
from .doors import catalog_column, journal_count, journal_events_at, last_event, object_bytes

CLERK = "zfjltest_clerk"


@pytest.fixture(scope="module")
def clerk_uid() -> Iterator[int]:
    """A real OS user, created for the test (CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("creating an OS user needs root")
    try:
        pwd.getpwnam(CLERK)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", CLERK],
                       check=True, capture_output=True)  # fmt: skip
    yield pwd.getpwnam(CLERK).pw_uid
    subprocess.run(["userdel", CLERK], capture_output=True)


def test_the_actor_is_the_real_uid_not_logname(
    clerk_uid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "legal1")  # what a clerk would type to pass as the legal section
    assert as_uid(clerk_uid, current_actor) == CLERK
    assert current_actor() == pwd.getpwuid(os.getuid()).pw_name


def test_a_clerk_spoofing_logname_is_journaled_as_themself(clerk_uid: int) -> None:
    # pytest's tmp_path sits in root's private folder: the clerk's own vault lives elsewhere.
    home = Path(tempfile.mkdtemp(prefix="zfjl-clerk-"))
    os.chown(home, clerk_uid, -1)  # direct mode: a vault the caller owns
    root = home / "vault"
    try:
        _check_spoofed_vault(clerk_uid, root)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _check_spoofed_vault(clerk_uid: int, root: Path) -> None:
    def make_and_record() -> str:
        os.environ.update(LOGNAME="root", USER="root")
        with Vault.create(root) as v:
            return json.dumps([v.actor, v.config.roles])

    actor, roles = json.loads(as_uid(clerk_uid, make_and_record))
    assert actor == CLERK and roles == {CLERK: ["admin"]}
    assert sorted({e.actor for e in journal_events_at(root)}) == [CLERK]


def test_logname_does_not_change_who_the_command_line_acts_as(vault: Vault) -> None:
    vault.close()
    proc = zfjl_cli("--vault", str(vault.root), "verify", env={"LOGNAME": "legal1", "USER": "legal1"})
    assert proc.returncode == 0, proc.stderr
    with Vault.open(vault.root) as v:
        last = last_event(v)
    assert (last.kind, last.actor) == ("vault.verify", pwd.getpwuid(os.getuid()).pw_name)


@pytest.fixture
def granted(sample_cases_vault: Vault) -> Iterator[tuple[Vault, str]]:
    v = sample_cases_vault
    oid = catalog_column(v, "case_media", "recording_id", case_id="CASE-2024-045")[0]
    add_grant(v, v.actor, "CASE-2024-045", scope="copy", approved_by="局长", approval_no="批-9",
              until="2099-12-31")  # fmt: skip
    yield v, oid


def _access_rows(v: Vault, kind: str, oid: str) -> int:
    return journal_count(v, kind, oid)


@pytest.mark.parametrize("how", ["view", "export"])
def test_an_access_killed_mid_copy_is_already_journaled(
    granted: tuple[Vault, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    v, oid = granted

    def killed_mid_copy(vault: Vault, release: object, oid: str, dest: Path) -> None:
        dest.write_bytes(object_bytes(vault, oid)[:100])  # the first bytes left
        raise KeyboardInterrupt  # Ctrl-C (or kill) half-way through the copy

    monkeypatch.setattr(access_reads, "_copy_out", killed_mid_copy)
    kind = "access.view" if how == "view" else "access.export"
    with pytest.raises(KeyboardInterrupt):
        if how == "view":
            view(v, oid, "复核")
        else:
            export(v, [oid], tmp_path / "out", "移送法院")
    assert _access_rows(v, kind, oid) == 1


def test_export_refuses_before_any_copy_when_a_target_exists(
    granted: tuple[Vault, str], tmp_path: Path
) -> None:
    v, oid = granted
    out = tmp_path / "out"
    out.mkdir()
    (name,) = access_reads.export_names(v, [oid]).values()
    (out / name).write_bytes(b"earlier")
    from zfjl.errors import OutputExists

    with pytest.raises(OutputExists, match="输出已存在") as refused:
        export(v, [oid], out)
    assert refused.value.exit_code == 6
    assert _access_rows(v, "access.export", oid) == 0
    assert (out / name).read_bytes() == b"earlier"


def _as_clerk(v: Vault) -> Vault:
    """The same vault, its user now listed as a clerk (承办人员) only."""
    set_roles(v, "clerk")
    v.close()
    return Vault.open(v.root, clock=v._clock)


def test_a_clerk_without_a_copy_grant_cannot_bundle_the_originals(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    """The 0.1 bypass: refused export, then case open + attach + bundle gave a byte copy."""
    v = _as_clerk(sample_cases_vault)
    out = tmp_path / "out"
    with pytest.raises(AccessDenied, match="无复制批准"):
        bundle_case(v, "CASE-2024-045", out / "bag", purpose="court")
    assert not out.exists()  # refused before anything was written
    denied = journal_count(v, "access.denied")
    assert denied >= 1


def test_a_clerk_with_a_copy_grant_on_the_case_bundles_it(
    granted: tuple[Vault, str], tmp_path: Path
) -> None:
    v = _as_clerk(granted[0])
    report = bundle_case(v, "CASE-2024-045", tmp_path / "bag", purpose="court")
    assert any(p.name.endswith(".mp4") for p in (report.path / "data" / "originals").iterdir())


def test_a_new_vault_is_reachable_by_its_owner_only(tmp_path: Path) -> None:
    with Vault.create(tmp_path / "v") as v:
        modes = {p.name: p.stat().st_mode & 0o777 for p in (v.root, v.root / "objects", v.root / "tmp")}
    assert modes == {"v": 0o700, "objects": 0o700, "tmp": 0o700}


def test_direct_mode_refuses_a_vault_of_another_user(clerk_uid: int) -> None:
    """0.1's documented deployment made the vault group-readable: direct mode now refuses a
    vault the caller does not own, even where the files would let it read them."""
    home = Path(tempfile.mkdtemp(prefix="zfjl-foreign-"))
    try:
        root = home / "vault"
        Vault.create(root).close()
        for p in [home, root, *root.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o055)  # group and others may read and enter

        def open_it() -> str:
            try:
                Vault.open(root)
            except NotPermitted as exc:
                return exc.message
            return "opened"

        assert "由保管库服务管理" in as_uid(clerk_uid, open_it)
    finally:
        shutil.rmtree(home, ignore_errors=True)
