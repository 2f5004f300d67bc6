#!/usr/bin/env bash
# Run make targets again and again as a fresh non-root user, stopping at the first failure:
# what a developer without root sees (issue 27: `make demo` and `make test` pass 20 times in a
# row). Run as root, from a checkout:
#   scripts/repeat-as-user.sh [-n TIMES] [-u USER] [TARGET...]     (default: -n 20 demo test)
# The user (default zfjlrepeat) is made with a home of its own if missing; the committed HEAD
# of this checkout is cloned into that home afresh, and each round runs every TARGET there
# with `make`, its output in ~USER/repeat-logs/ROUND-TARGET.log. Exit 0 when every round
# passed, else the failing make's status (its log is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

times=20 user=zfjlrepeat
while getopts "n:u:" opt; do
  case $opt in
    n) times=$OPTARG ;;
    u) user=$OPTARG ;;
    *) echo "用法 / usage: $0 [-n TIMES] [-u USER] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
((${#targets[@]})) || targets=(demo test)

if [[ $(id -u) != 0 ]]; then
  echo "需要 root（创建用户）/ run as root: it makes the user" >&2
  exit 2
fi
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
as_user() { runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" \
  PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"; }

# A fresh clone of what is committed here (uncommitted changes are not tested).
src=$(pwd)
repo=$home/zfjl
rm -rf "$repo" "$home/repeat-logs"
as_user mkdir -p "$home/repeat-logs"
bundle=$(mktemp --suffix=.bundle)
git bundle create -q "$bundle" HEAD
chmod 644 "$bundle"
as_user git -c advice.detachedHead=false clone -q "$bundle" "$repo"
rm -f "$bundle"
echo "$(git -C "$src" rev-parse --short HEAD) → $repo（用户 $user）：${targets[*]}，$times 轮"

for ((round = 1; round <= times; round++)); do
  for target in "${targets[@]}"; do
    log=$home/repeat-logs/$(printf %02d "$round")-$target.log
    start=$(date +%s)
    if as_user make -C "$repo" "$target" >"$log" 2>&1; then
      echo "第 $round 轮 make $target：通过（$(($(date +%s) - start)) 秒，负载 $(cut -d' ' -f1-3 /proc/loadavg)）"
    else
      status=$?
      cat "$log"
      echo "第 $round 轮 make $target：失败（退出码 $status，日志 $log）" >&2
      exit "$status"
    fi
  done
done
echo "全部 $times 轮通过：${targets[*]}"
