"""The exit codes of every command, in one table: `zfjl help 退出码` prints its Chinese
column and README.md's table is its English one (tests/test_clerk.py holds them equal), so a
new code cannot reach one and not the other."""

from __future__ import annotations

# (code, what it means to the person at the terminal, README.md's words)
EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (0, '成功，没有问题',
     'done, no problem'),
    (1, '已完成，但有须处理的问题：verify 或 bundle verify 发现问题，ingest 有文件未能存入',
     'done, but something needs attention: `verify` or `bundle verify` found a problem, `ingest` could not store a file'),
    (2, '用法错误（没有该选项、取值不对、--from 晚于 --to 等）',
     'usage error (unknown option or verb, bad value, `--from` after `--to`)'),
    (3, '保管库问题：不存在、格式版本不受支持、vault.json 或设置有误、catalog.db 损坏、文件本用户无权读取或长时间被占用；连不上保管库服务、对方不是本站登记的服务账户，或服务要求操作命令行未指定的文件；checkpoint make 拒绝为与此前签名不一致的日志签名，或签名状态缺失时拒绝签名（checkpoint restore-state 同样拒绝）',
     'vault missing, of an unsupported format version, its vault.json or settings malformed (a key of the wrong type), its catalog.db damaged or a folder, its files unreadable by this user, or busy for too long; the vault service cannot be reached, is not the station\'s recorded service account, or asked for a file the command line did not name; `checkpoint make` refused a journal inconsistent with what it signed before, or to sign without its state (`checkpoint restore-state` refused likewise)'),
    (4, '输入不存在或格式有误（存储卡目录、记录编号、案件、案件文件、放假通知、ffmpeg 无法读取或转换的记录）',
     'an input does not exist or is malformed (source folder, recording ID, case, case file, holiday notice, a recording ffmpeg cannot read or convert)'),
    (5, '缺少必需的程序（提示中写明应安装的软件包）',
     'a required program is missing (the message names the apt package)'),
    (6, '保管库（或输出文件）无法写入：磁盘已满、读写错误，或输出文件已存在（加 --force 覆盖）；已存入的内容完好，重新运行即可继续',
     'the vault (or an output path) cannot be written: disk full — even for `ls`, which cannot open the catalog —, I/O error, an output that exists already (`--force` replaces it where offered); what was stored is intact, rerun to finish'),
    (7, '忙：另一次 sweep 正在运行（cron 重叠），或保管库服务已在处理您的 8 个请求（共 64 个），本次未做任何事',
     'busy: another `sweep` is running (cron overlap), or the vault service already answers 8 requests of yours (64 in all); nothing was done'),
    (8, '无权限：没有查阅或复制批准（拒绝已记入日志）、无权登记批准、sweep --execute 或解除长期保存没有批准文号；改动已归档或已撤销的案件（须先 case reopen）、无权撤销或重开案件',
     'not permitted: no grant (view/export, refusal journaled), no role to enter a grant, no approval for `sweep --execute` or a hold release; a change to an archived or withdrawn case (`case reopen` first), no role to withdraw or reopen a case'),
    (10, 'check：只有警示（⚠ 或无法判断）',
     '`check`: warnings only (⚠ or 无法判断)'),
    (11, 'check：至少有一项违反（✘）',
     '`check`: at least one violation (✘)'),
    (70, '内部错误（程序缺陷，请报告；设置 ZFJL_DEBUG=1 可看详情）',
     'internal error (a bug; `ZFJL_DEBUG=1` shows the traceback)'),
    (130, '已中断（Ctrl-C、SIGTERM）；重新运行同一命令即可继续',
     'interrupted (Ctrl-C, SIGTERM); rerun the same command to finish'),
)  # fmt: skip


def topic_text() -> str:
    """`zfjl help 退出码`: one line a code."""
    lines = (f"{code:>3}  {zh}" for code, zh, _ in EXIT_CODES)
    return "\n".join(lines) + "\n详见 README.md“退出码”。"


def readme_table() -> str:
    """README.md's table, as it must read."""
    rows = "".join(f"| {code} | {en} |\n" for code, _, en in EXIT_CODES)
    return "| code | meaning |\n|---|---|\n" + rows
