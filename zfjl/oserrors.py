"""What the operating system and the media tools say, in Chinese: one mapping.

`OSError.strerror` ("Is a directory", "Permission denied") and the last line of ffprobe or
exiftool ("Invalid data found when processing input") are English; a clerk reads Chinese.
`describe(exc)` is the text of an OSError for a new message; `in_chinese(text)` rewrites a
message already made (by code that used `exc.strerror`, or journaled by an older version)
wherever one of these phrases appears. The CLI applies `in_chinese` to every error line and
remark it prints (`zfjl.cli.app._fail`, `zfjl.cli.output.note`) and to stored messages it
shows (`zfjl.cli.display.message`); `--json` keeps `errno` and the text as they were.
"""

from __future__ import annotations

import errno
import os
import re

ERRNO_TEXT: dict[int, str] = {
    errno.ENOENT: "没有该文件或目录",
    errno.EISDIR: "这是一个目录，不是文件",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EACCES: "没有权限",
    errno.EPERM: "不允许此操作",
    errno.EEXIST: "已存在",
    errno.ENOSPC: "磁盘空间已满",
    errno.EDQUOT: "超出磁盘配额",
    errno.EROFS: "只读文件系统，不能写入",
    errno.EIO: "读写错误（磁盘或存储卡可能损坏）",
    errno.ENXIO: "设备不存在或未连接",
    errno.ENODEV: "设备不存在",
    errno.EBUSY: "设备或资源正忙",
    errno.ENOTEMPTY: "目录不是空的",
    errno.EXDEV: "不能跨文件系统移动",
    errno.ELOOP: "符号链接过多（或不允许跟随符号链接）",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EMFILE: "打开的文件过多",
    errno.ENFILE: "系统打开的文件过多",
    errno.EINVAL: "参数无效",
    errno.ETXTBSY: "文件正被执行",
    errno.EFBIG: "文件太大",
    errno.ESTALE: "网络文件句柄已失效（请重新挂载）",
    errno.ETIMEDOUT: "连接超时",
    errno.ECONNREFUSED: "连接被拒绝",
    errno.ECONNRESET: "连接被对方重置",
    errno.EPIPE: "连接已断开",
    errno.EAGAIN: "资源暂时不可用，请稍后再试",
    errno.EINTR: "被中断",
}

# The last line of ffprobe/ffmpeg and exiftool for a file they cannot read.
TOOL_TEXT: dict[str, str] = {
    "Invalid data found when processing input": "文件内容无法识别（不是有效的音视频数据，或已损坏）",
    "moov atom not found": "视频文件不完整（缺少索引，录制可能中途中断）",
    "End of file": "文件不完整（提前结束）",
    "Operation not permitted": "不允许此操作",
    "File format error": "文件格式错误",
    "File is empty": "文件是空的",
    "Unknown file type": "无法识别的文件类型",
    "File not found": "找不到文件",
}


def describe(exc: OSError) -> str:
    """An OSError's reason in Chinese (its own text when the errno is not listed)."""
    if exc.errno in ERRNO_TEXT:
        return ERRNO_TEXT[exc.errno]
    return exc.strerror or str(exc)


def _phrases() -> dict[str, str]:
    found = {os.strerror(n): text for n, text in ERRNO_TEXT.items()}
    return {**found, **TOOL_TEXT}


_PHRASES = _phrases()
_ANY = re.compile("|".join(re.escape(p) for p in sorted(_PHRASES, key=len, reverse=True)))


def in_chinese(text: str) -> str:
    """`text` with every English OS or tool phrase it holds replaced by its Chinese one
    (`未能写入 /tmp/x：Is a directory` → `未能写入 /tmp/x：这是一个目录，不是文件`)."""
    return _ANY.sub(lambda m: _PHRASES[m.group()], text)
