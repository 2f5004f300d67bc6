#!/usr/bin/env bash
# Install what zfjl needs on a Debian-like machine, and nothing twice:
# system tools through apt (when root; otherwise print the exact command), then the
# package with its test tools in ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
{ command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; } || need+=(ffmpeg)
command -v sqlite3 >/dev/null || need+=(sqlite3)   # the tests tamper with the journal through it
command -v pdftotext >/dev/null || need+=(poppler-utils)  # the tests read rendered PDFs back
command -v qpdf >/dev/null || need+=(qpdf)  # the render tests check every PDF with qpdf --check
fc-list 2>/dev/null | grep -q "Noto Serif CJK" || need+=(fonts-noto-cjk fontconfig)  # 执法文书
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

[[ -x .venv/bin/python ]] || python3 -m venv .venv
stamp=.venv/.zfjl-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
