"""The vault itself: zfjl init, verify, rebuild."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from zfjl.cli.common import STATE, JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer()


@app.command(
    "init", help="新建保管库。",
    epilog="示例：\n  zfjl --vault /srv/zfjl init --bureau 株洲市城市管理和综合执法局\n"
    "  zfjl --vault /srv/zfjl init --bureau 株洲市城市管理和综合执法局"
    " --catalog postgresql://zfjl_station@db:5432/zfjl"
    " --catalog-owner postgresql://zfjl_owner@db:5432/zfjl\n"
    "  zfjl --vault /srv/zfjl init --catalog postgresql://zfjl_station@db:5432/zfjl --station 芦淞中队\n"
    "  zfjl --vault /srv/zfjl init --bureau 株洲市城市管理和综合执法局 --store s3://zfjl-bureau/station-1",
)
def init_cmd(
    bureau: Annotated[
        str | None, typer.Option(help="执法机关全称（印在每份文书上；必填，在终端上未给出则询问）。")
    ] = None,
    catalog: Annotated[
        str | None, typer.Option(help="目录放在 PostgreSQL：工作角色的地址 postgresql://角色@主机:端口/数据库"
                                      "（密码由 PGPASSWORD、PGPASSFILE 或 PGSERVICE 提供，不写在地址里）。")
    ] = None,
    catalog_owner: Annotated[
        str | None, typer.Option(help="与 --catalog 同用：建立目录结构的所有者角色的地址（同一数据库）。")
    ] = None,
    store: Annotated[
        str | None, typer.Option(metavar="s3://存储桶[/前缀]", help=(
            "局端对象存储（须启用对象锁定；不存在且凭据允许时新建）。本地目录为本站副本；"
            "地址与凭据取自 AWS_ENDPOINT_URL、AWS_PROFILE 或凭据文件。"))
    ] = None,
    station: Annotated[
        str | None, typer.Option(help="以此站点名加入 --catalog 中已有的全局保管库（本目录存放本站的对象、"
                                      "锁与签名密钥）；库中尚无保管库且给出 --catalog-owner、--bureau 时，"
                                      "新建全局保管库，本目录为其第一个站点。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.vault import resolve_vault_path
    from zfjl.vault.setup import init_station, init_vault

    if station is not None:
        if catalog is None:
            raise UsageError("--station 须与 --catalog 同用：加入目录数据库中已有的全局保管库")
        if store is not None:  # the bucket is the bureau's, bound once (store.bind) for all
            raise UsageError("--station 不能与 --store 同用：局端存储由全局保管库登记一次，各站点共用")
        vault = init_station(resolve_vault_path(STATE.vault_path), bureau=bureau or "",
                             catalog=catalog, catalog_owner=catalog_owner, station=station)  # fmt: skip
        emit({"vault": str(vault.root), "id": vault.config.id, "bureau": vault.config.bureau,
              "station": vault.station}, as_json,
             f"站点 {vault.station}：{vault.config.bureau}的保管库，本站目录 {vault.root}")  # fmt: skip
        return
    if (catalog is None) != (catalog_owner is None):
        raise UsageError("--catalog 与 --catalog-owner 须同时给出（工作角色与所有者角色）")
    if bureau is None and sys.stdin.isatty() and sys.stderr.isatty():
        bureau = typer.prompt("执法机关全称（印在每份文书上）", err=True)
    vault = init_vault(resolve_vault_path(STATE.vault_path), bureau=bureau or "", catalog=catalog,
                       catalog_owner=catalog_owner, store=store)  # fmt: skip
    where = f"，局端存储 {store}" if store else ""
    emit({"vault": str(vault.root), "id": vault.config.id, "bureau": vault.config.bureau,
          "store": store}, as_json,
         f"已新建保管库：{vault.root}（{vault.config.bureau}）{where}")  # fmt: skip


@app.command(
    "sync", help="把站内尚未上传的对象上传至局端存储，读回核对并锁定；全部完成后返回。",
    epilog="示例：\n  zfjl sync\n  zfjl sync --json",
)
def sync_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.vault.bureau import sync

    report = sync(open_vault())
    emit(report.as_dict(), as_json,
         f"已同步至 {report.store}：新上传 {report.shipped} 个，已在局端 {report.already_there} 个，"
         f"调整锁定 {report.relocked} 个"
         + (f"；其他站点尚有 {report.pending_elsewhere} 个待其自行上传" if report.pending_elsewhere
            else "")
         + (f"；释放站内副本 {report.released} 个（局端锁定版本为原件）" if report.released else "")
         + (f"；{len(report.kept)} 个到期副本保留（首个 {next(iter(report.kept))[:12]}："
            f"{next(iter(report.kept.values()))}）" if report.kept else ""))  # fmt: skip


@app.command(
    "verify", help="校验保管库：重读对象核对摘要，核对日志哈希链和目录。",
    epilog="示例：\n  zfjl verify\n  zfjl verify --subset 3/7 --sha256",
)
def verify_cmd(
    subset: Annotated[
        str | None, typer.Option(help="只重读第 n 份（共 t 份）对象，如 3/7，供每晚轮流校验。")
    ] = None,
    read_data: Annotated[
        bool, typer.Option("--read-data/--no-read-data", help="是否重读对象内容。")
    ] = True,
    sha256: Annotated[bool, typer.Option("--sha256", help="同时重算 SHA-256（较慢）。")] = False,
    digests: Annotated[
        bool, typer.Option("--digests", help="重算全部已记录的摘要：SHA-256、SHA-512、SM3（最慢）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.verify import verify

    report = verify(open_vault(), subset=subset, read_data=read_data, sha256=sha256,
                    digests=digests)  # fmt: skip
    emit(report, as_json, _print_verify)
    if not report.ok:
        raise typer.Exit(1)


def _print_verify(report: Any) -> None:
    for f in report.findings:
        mark = "[red]✘[/]" if f.severity == "error" else "[yellow]⚠[/]"
        out.print(f"{mark} {f.message}：{f.subject}（应为 {f.expected}，实为 {f.found}）")
    out.print(
        f"{_verdict(report)}：对象 {report.objects_checked} 个（第 {report.subset} 份），"
        f"读取 {report.bytes_read / 1e6:.1f} MB，日志 {report.journal_rows} 条"
    )


def _verdict(report: Any) -> str:
    """✔ only when nothing was found; warnings alone are ⚠ with their count, errors ✘."""
    errors = sum(f.severity == "error" for f in report.findings)
    others = len(report.findings) - errors
    if errors:
        more = f"，另有提示 {others} 项" if others else ""
        return f"[red]✘ 校验未通过：问题 {errors} 项{more}[/]"
    if others:
        return f"[yellow]⚠ 校验通过，但有提示 {others} 项（见上）[/]"
    return "[green]✔ 校验通过，没有发现问题[/]"


@app.command(
    "migrate-to-bureau",
    help="把本站保管库迁入全局（局）保管库：目录数据库为空库时本站目录整体迁入；已有全局保管库时"
    "用 --station 以站点身份并入（日志逐条重放）。对象仍在本站，由 zfjl sync 上传。",
    epilog="示例：\n  zfjl --vault /srv/zfjl migrate-to-bureau"
    " --catalog postgresql://zfjl_station@db:5432/zfjl"
    " --catalog-owner postgresql://zfjl_owner@db:5432/zfjl\n"
    "  zfjl --vault /srv/zfjl migrate-to-bureau"
    " --catalog postgresql://zfjl_station@db:5432/zfjl --station 石峰中队",
)
def migrate_to_bureau_cmd(
    catalog: Annotated[
        str, typer.Option(help="全局目录数据库中工作角色的地址 postgresql://角色@主机:端口/数据库"
                               "（密码由 PGPASSWORD、PGPASSFILE 或 PGSERVICE 提供）。")
    ],
    catalog_owner: Annotated[
        str | None, typer.Option(help="同一数据库所有者角色的地址（迁入空库时必需：建立目录结构、写入日志）。")
    ] = None,
    station: Annotated[
        str | None, typer.Option(help="并入已有全局保管库时本站的站点名（本站日志作为该站点的记录重放）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.vault import resolve_vault_path
    from zfjl.vault.pg_backend import _safe_url, refuse_password

    root = resolve_vault_path(STATE.vault_path)
    if station is not None and catalog_owner is not None:
        raise UsageError("并入已有全局保管库（--station）不用 --catalog-owner：目录结构已由局端建立，"
                         "本站以工作角色写入")
    if station is not None:
        from zfjl.vault.merge import merge_station

        refuse_password(catalog)
        merged = merge_station(root, catalog_url=catalog, station=station)
        emit({"vault": str(root), "catalog": _safe_url(catalog), **merged.as_dict()}, as_json,
             f"已把本站 {merged.rows} 条日志并入 {_safe_url(catalog)}，作为站点 {merged.station}："
             f"重放 {merged.replayed} 条，仅记录未应用 {merged.not_applied} 条（设置、角色、检查点等）；"
             f"本站对象仍在 {root}，请运行 zfjl sync 上传")  # fmt: skip
        return
    if catalog_owner is None:
        raise UsageError("迁入空库须给出 --catalog-owner；并入已有全局保管库须给出 --station 站点名")
    from zfjl.vault.setup import migrate_to_bureau

    rows = migrate_to_bureau(root, catalog=catalog, catalog_owner=catalog_owner)
    emit({"vault": str(root), "catalog": _safe_url(catalog), "rows": rows}, as_json,
         f"已把 {rows} 条日志及目录迁入 {_safe_url(catalog)}；本站对象仍在 {root}，"
         "请运行 zfjl sync 上传")  # fmt: skip


@app.command(
    "rebuild", help="由日志重建全部目录表。",
    epilog="示例：\n  zfjl rebuild",
)
def rebuild_cmd(as_json: JsonOpt = False) -> None:
    count = open_vault().rebuild_catalog()
    emit({"events_replayed": count}, as_json, f"已由 {count} 条日志重建目录")
