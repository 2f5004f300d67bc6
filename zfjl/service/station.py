"""`zfjl station setup`: make a station's vault a service, in one idempotent command (as root).

What it makes (each only when missing, so running it again changes nothing and says so):
- the system account `zfjl` (no login shell, no password), the only owner of the vault;
- /var/lib/zfjl (0700, zfjl) with the vault in /var/lib/zfjl/vault;
- /etc/zfjl/zfjl.env: where the vault and the socket are (read by the unit);
- /etc/zfjl/service.owner (root's, 0644): the service account's UID and its socket, which
  every station user's `zfjl` checks the service against (SO_PEERCRED) before sending anything;
- /run/zfjl (0755, zfjl): the socket folder (systemd re-creates it at boot: RuntimeDirectory);
- /etc/systemd/system/zfjl.service, enabled and started when systemd runs the machine;
- /usr/local/bin/zfjl, so that every station user has the command.
Station users need no permission on any of it: they talk to the socket, and the service asks
the kernel who they are.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from zfjl.errors import UsageError, VaultError


@dataclass(frozen=True)
class StationLayout:
    account: str = "zfjl"
    state: Path = Path("/var/lib/zfjl")
    etc: Path = Path("/etc/zfjl")
    run: Path = Path("/run/zfjl")
    units: Path = Path("/etc/systemd/system")
    bin: Path = Path("/usr/local/bin")

    @property
    def vault(self) -> Path:
        return self.state / "vault"

    @property
    def socket(self) -> Path:
        return self.run / "zfjl.sock"


@dataclass
class SetupReport:
    done: list[str] = field(default_factory=list)  # what this run made
    present: list[str] = field(default_factory=list)  # what was there already
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"done": self.done, "present": self.present, "notes": self.notes}


def setup_station(
    layout: StationLayout,
    *,
    bureau: str,
    admins: list[str],
    approval_no: str | None = None,
    check_install: bool = True,
    start: bool = True,
) -> SetupReport:
    if os.geteuid() != 0:
        raise UsageError("zfjl station setup 须以 root 运行（例：sudo zfjl station setup …）")
    if not bureau.strip():
        raise UsageError("须用 --bureau 给出执法机关全称（印在每份文书上）")
    for admin in admins:
        _user(admin)
    if admins and not (approval_no or "").strip():
        raise UsageError("登记管理员须给出审批编号 --approval（角色是记入日志的事实，见 docs/access.md）")
    # Refused before anything is made: an interpreter the account cannot run, a station
    # that exists for another bureau or without these administrators.
    if check_install:
        _check_installation(layout.account)
    report = SetupReport()
    _keep_existing_station(layout.vault, bureau, admins, report)
    uid, gid = _ensure_account(layout.account, layout.state, report)
    _ensure_dir(layout.state, 0o700, uid, gid, report)
    _ensure_dir(layout.etc, 0o755, 0, 0, report)
    _ensure_dir(layout.run, 0o755, uid, gid, report)
    _ensure_file(layout.etc / "zfjl.env",
                 f"ZFJL_VAULT={layout.vault}\nZFJL_SOCKET={layout.socket}\n", report)  # fmt: skip
    # Whom station users' `zfjl` may talk to (client.check_service): root's file, 0644.
    _ensure_file(layout.etc / "service.owner", f"uid={uid}\nsocket={layout.socket}\n", report)
    _ensure_vault(layout.vault, uid, gid, bureau, admins, approval_no, report)
    _ensure_file(layout.units / "zfjl.service", unit_text(layout), report)
    _ensure_file(layout.bin / "zfjl", f'#!/bin/sh\nexec {sys.executable} -m zfjl "$@"\n', report,
                 mode=0o755)  # fmt: skip
    if start:
        _start_unit(report)
    return report


def unit_text(layout: StationLayout) -> str:
    template = resources.files("zfjl.service").joinpath("zfjl.service").read_text("utf-8")
    return template.format(
        python=sys.executable,
        account=layout.account,
        env=layout.etc / "zfjl.env",
        state=layout.state,
        run_name=layout.run.name,
        vault=layout.vault,
        socket=layout.socket,
    )


def _user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise UsageError(f"系统中没有用户 {name}（请先创建该账户）") from None


def _ensure_account(name: str, home: Path, report: SetupReport) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
        report.present.append(f"服务账户 {name}")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--user-group", "--home-dir", str(home), "--no-create-home",
         "--shell", "/usr/sbin/nologin", "--comment", "zfjl vault service", name],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise VaultError(f"无法创建服务账户 {name}：{result.stderr.strip()}")
    entry = pwd.getpwnam(name)
    report.done.append(f"服务账户 {name}（UID {entry.pw_uid}）")
    return entry.pw_uid, entry.pw_gid


NOBODY = 65534  # an account with no rights: what a new system account can reach, before it exists
SYSTEM_VENV = ("/usr/bin/python3 -m venv /opt/zfjl && /opt/zfjl/bin/pip install <zfjl 源码目录>，"
               "再以 /opt/zfjl/bin/zfjl station setup 运行")  # fmt: skip


def _check_installation(account: str) -> None:
    """The service account must be able to run this very installation: the interpreter
    itself (a venv's python is a symlink to it), the venv, and the package. Checked as the
    account when it exists, else as a user with no rights, before anything is made; the
    refusal names the folder that stops it and why."""
    import zfjl

    try:
        entry = pwd.getpwnam(account)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        uid = gid = NOBODY
    interpreter = os.path.realpath(sys.executable)
    package = Path(zfjl.__file__).parent
    checks = [("interpreter", interpreter, os.X_OK), ("venv", sys.executable, os.X_OK),
              ("package", str(package / "__init__.py"), os.R_OK)]  # fmt: skip
    blocked = _first_blocked(uid, gid, checks)
    if blocked is None:
        return
    what, where = blocked
    if what == "interpreter":
        kind = "pyenv 安装的" if "/.pyenv/" in interpreter else "个人目录中的"
        raise UsageError(
            f"服务账户无法运行 Python 解释器 {interpreter}（{kind}解释器，{where} 不对其他用户开放）"
            + (f"，{sys.executable} 所在的虚拟环境即指向它" if interpreter != sys.executable else "")
            + f"：请用系统自带的 Python 建立虚拟环境：{SYSTEM_VENV}"
        )
    place = sys.executable if what == "venv" else str(package)
    raise UsageError(
        f"zfjl 安装在 {place}，服务账户无法读取（{where} 不对其他用户开放）：请系统级安装，"
        f"例：{SYSTEM_VENV}"
    )


def _first_blocked(uid: int, gid: int, checks: list[tuple[str, str, int]]) -> tuple[str, str] | None:
    """As `uid`, the first of `checks` (label, path, access mode) that cannot be reached, and
    the first folder on its way that stops it (or the path itself)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            for label, path, mode in checks:
                if not os.access(path, mode):
                    stop = next((str(f) for f in reversed(Path(path).parents)
                                 if not os.access(f, os.X_OK)), path)  # fmt: skip
                    os.write(write, f"{label}\0{stop}".encode())
                    break
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        answer = f.read().decode(errors="replace")
    os.waitpid(pid, 0)
    if not answer:
        return None
    label, _, stop = answer.partition("\0")
    return label, stop


def _keep_existing_station(root: Path, bureau: str, admins: list[str], report: SetupReport) -> None:
    """A station set up before keeps its bureau and its administrators: asked for another
    bureau, or for an administrator it lacks, nothing is changed and the caller is told how
    (a usage error); asked for the same, it says so."""
    existing = _existing_vault(root)
    if existing is None:
        return
    have_bureau, have_admins = existing
    kept = f"保管库 {root} 已存在（执法机关：{have_bureau}；管理员：{'、'.join(have_admins) or '无'}）"
    if bureau.strip() != have_bureau:
        raise UsageError(f"{kept}，本次给出的 --bureau {bureau.strip()} 与之不同：站点未作任何改动。"
                         "如需更改机关名称，请由管理员运行 zfjl config set bureau <全称>")  # fmt: skip
    missing = [a for a in admins if a not in have_admins]
    if missing:
        raise UsageError(f"{kept}，{'、'.join(missing)} 不是其管理员：站点未作任何改动。"
                         f"请由现任管理员运行 zfjl role add {missing[0]} admin --approval <审批编号>")  # fmt: skip
    report.notes.append(f"{kept}：沿用，未改动")


def _as_account(uid: int, gid: int, work: Callable[[], str], *, home: Path | None = None
                ) -> tuple[bool, str]:  # fmt: skip
    """Run `work` in a child as `uid`/`gid` (the vault's files are then that account's, never
    root's): (whether it succeeded, what it returned or the error's message)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            if home is not None:
                os.environ["HOME"] = str(home)
            os.write(write, work().encode())
            code = 0
        except Exception as exc:
            os.write(write, str(getattr(exc, "message", exc)).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        answer = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0, answer


def _existing_vault(root: Path) -> tuple[str, list[str]] | None:
    """(bureau, administrators) of the vault at `root`, read as its owner (opening it as root
    would leave root-owned files in it); None when there is none."""
    try:
        st = (root / "vault.json").stat()
    except FileNotFoundError:
        return None

    def read_it() -> str:
        from zfjl.vault.settings import list_roles
        from zfjl.vault.vault import Vault

        with Vault.open(root) as vault:
            admins = sorted({r["user"] for r in list_roles(vault) if r["role"] == "admin"})
            return json.dumps([vault.config.bureau, admins])

    ok, answer = _as_account(st.st_uid, st.st_gid, read_it)
    if not ok:
        raise VaultError(f"无法读取已有的保管库 {root}：{answer}")
    bureau, admins = json.loads(answer)
    return str(bureau), [str(a) for a in admins]


def _ensure_dir(path: Path, mode: int, uid: int, gid: int, report: SetupReport) -> None:
    if path.is_dir():
        report.present.append(str(path))
    else:
        path.mkdir(parents=True, mode=mode)
        report.done.append(str(path))
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _ensure_file(path: Path, text: str, report: SetupReport, mode: int = 0o644) -> None:
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            report.notes.append(f"{path} 与本版本所生成的内容不同，未改动（如需更新请先删除）")
        report.present.append(str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    report.done.append(str(path))


def _ensure_vault(
    root: Path, uid: int, gid: int, bureau: str, admins: list[str], approval_no: str | None,
    report: SetupReport,
) -> None:
    """Made by the service account itself (its files are then its own), with the station's
    administrators given the admin role."""
    if (root / "vault.json").exists():
        report.present.append(f"保管库 {root}")
        return
    def make_it() -> str:
        from zfjl.vault.setup import grant_admins, init_vault

        vault = init_vault(root, bureau=bureau)
        grant_admins(vault, admins, approval_no)
        vault.close()
        return ""

    ok, problem = _as_account(uid, gid, make_it, home=root.parent)
    if not ok:
        raise VaultError(f"无法创建保管库 {root}：{problem}")
    report.done.append(f"保管库 {root}（管理员：{'、'.join(admins) or '无'}）")


def _start_unit(report: SetupReport) -> None:
    systemctl = shutil.which("systemctl")
    if systemctl is None or not Path("/run/systemd/system").is_dir():
        report.notes.append("未检测到 systemd：请以服务账户运行 zfjl serve（例：runuser -u zfjl -- "
                            "zfjl --vault /var/lib/zfjl/vault serve）")  # fmt: skip
        return
    for args in (["daemon-reload"], ["enable", "--now", "zfjl.service"]):
        result = subprocess.run([systemctl, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise VaultError(f"systemctl {' '.join(args)} 失败：{result.stderr.strip()}")
    report.done.append("systemctl enable --now zfjl.service")
