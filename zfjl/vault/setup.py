"""A new vault ready for use: the vault itself, then its checkpoint signing key.

`Vault.create` knows nothing of keys (checkpoints build on the vault, not the reverse); this
composes the two, and takes the signer as a parameter so a caller may hand in another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from zfjl.errors import UsageError, VaultError
from zfjl.vault import events
from zfjl.vault.checkpoint import PublicKey
from zfjl.vault.signer import create_key
from zfjl.vault.vault import Clock, Vault

Signer = Callable[[Vault], object]  # makes and journals the vault's first signing key


def init_vault(
    root: Path, *, bureau: str, clock: Clock | None = None, signer: Signer = create_key,
    catalog: str | None = None, catalog_owner: str | None = None, store: str | None = None,
    station: str | None = None,
) -> Vault:  # fmt: skip
    """`zfjl init`: create the vault at `root` and give it a signing key; with `store`
    (s3://BUCKET[/PREFIX]) `root` is the station's folder of a bureau vault (bureau.py). `bureau`, the
    enforcement body's full name, is printed on every document: there is no default (a
    vault once silently named 株洲's bureau on every document of another). `catalog` and
    `catalog_owner`: a PostgreSQL catalog's working and owner roles (Vault.create)."""
    if not isinstance(bureau, str) or not bureau.strip():
        raise UsageError("须用 --bureau 给出执法机关全称（印在每份文书上），如 --bureau 某某市城市管理和综合执法局")
    url = None
    if store is not None:  # a bureau vault (issue 25): the bucket checked before anything is made
        from zfjl.vault.bureau import StoreUrl, open_store

        url = StoreUrl.parse(store)
        if (Path(root) / "vault.json").exists():
            raise VaultError(f"此处已有保管库：{root}")
        open_store(Path(root), url, create=True)
    vault = Vault.create(root, bureau=bureau.strip(), clock=clock, catalog=catalog,
                         catalog_owner=catalog_owner, station=station)  # fmt: skip
    public = signer(vault)
    if station is not None and isinstance(public, PublicKey):
        vault.record(events.StationJoin(station=station, vkey=public.vkey, host=vault.host), None)
    if url is not None:
        from zfjl.vault.bureau import bind_store

        bind_store(vault, str(url))
    return vault


STATION_NAME = re.compile(r"^[\w.-]{1,64}$")  # letters (CJK too), digits, _ . -


def check_station_name(station: str) -> str:
    name = station.strip() if isinstance(station, str) else ""
    if not STATION_NAME.fullmatch(name):
        raise UsageError(
            f"站点名 {station!r:.80} 无效：须为 1–64 个字母、数字、汉字或 _ . -（如 --station 芦淞中队）"
        )
    return name


def init_station(
    root: Path, *, bureau: str, catalog: str, catalog_owner: str | None, station: str,
    clock: Clock | None = None,
) -> Vault:  # fmt: skip
    """`zfjl init --catalog URL --station NAME [--catalog-owner URL --bureau NAME]`: join the
    bureau's vault the catalog holds; when it holds none and the owner role is given, make the
    bureau's vault with this folder as its station NAME."""
    name = check_station_name(station)
    if catalog_owner is not None and not catalog_holds_vault(root, catalog_owner):
        return init_vault(root, bureau=bureau, clock=clock, catalog=catalog,
                          catalog_owner=catalog_owner, station=name)  # fmt: skip
    return join_station(root, catalog=catalog, station=name, clock=clock)


def catalog_holds_vault(root: Path, url: str) -> bool:
    """Whether the PostgreSQL catalog at `url` holds a vault's journal already."""
    from zfjl.vault import journal
    from zfjl.vault.backend import backend_for

    backend = backend_for(url)
    try:
        conn = backend.connect(root)
        try:
            return journal.has_table(conn) and conn.execute(
                "SELECT 1 FROM journal WHERE kind = ? LIMIT 1", (events.VaultInit.kind,)
            ).fetchone() is not None
        finally:
            conn.close()
    except backend.errors as exc:
        fault = backend.fault(exc, root)
        if fault is None:
            raise
        raise fault from exc


def join_station(root: Path, *, catalog: str, station: str, clock: Clock | None = None) -> Vault:
    """`zfjl init --catalog URL --station NAME` on a catalog that holds the bureau's vault:
    this station's own folder, its own signing key and signer state, and `station.join`
    (its name and public key), every row it writes naming it (docs/scale.md). The key's
    `checkpoint.key` and `station.join` are one transaction, the name asked again under the
    journal's lock, and vault.json is written last: of two folders joining under one name at
    once, one becomes the station and the other is left without vault.json or journaled key."""
    from zfjl.vault import anchors
    from zfjl.vault.signer import write_key
    from zfjl.vault.stations import joined_stations

    vault = Vault.join(root, catalog=catalog, station=check_station_name(station), clock=clock)
    try:
        public = write_key(vault)
        with vault.writing() as w:
            if vault.station in joined_stations(vault.conn):
                raise VaultError(
                    f"站点 {vault.station} 已加入该保管库，不能重复加入（请换一个站点名）"
                )
            w.append(events.CheckpointKey(name=public.name, vkey=public.vkey), None)
            w.append(events.StationJoin(station=str(vault.station), vkey=public.vkey,
                                        host=vault.host), None)  # fmt: skip
        anchors.start_state(vault)
        vault.write_config()
    except BaseException:
        vault.close()
        raise
    return vault


def migrate_to_bureau(root: Path, *, catalog: str, catalog_owner: str) -> int:
    """`zfjl migrate-to-bureau`: a station vault's catalog (catalog.db) moved onto the bureau's
    PostgreSQL database, which must be empty (pg_backend.move_catalog: every row copied,
    hashes and all, the move journaled there). Administrators only; refused while `verify`
    finds an error, so nothing wrong is carried over unseen. The station's objects stay in its
    folder (the bucket gets them by `zfjl sync`). Returns the journal rows moved."""
    from zfjl.errors import JournalInconsistent
    from zfjl.vault.pg_backend import move_catalog
    from zfjl.vault.verify import verify

    with Vault.open(root) as vault:
        vault.require_role({"admin"}, "把保管库目录迁入全局目录数据库")
        if vault.catalog is not None:
            raise UsageError(f"此保管库的目录已在 PostgreSQL 上，无需迁移：{root}")
        report = verify(vault, read_data=False)
        if not report.ok:
            first = next(f for f in report.findings if f.severity == "error")
            raise JournalInconsistent(
                f"校验未通过，不迁移目录（{first.code}：{first.subject}）：请先运行 zfjl verify 处理"
            )
    return move_catalog(root, catalog_owner, catalog)


def grant_admins(vault: Vault, users: list[str], approval_no: str | None) -> None:
    """Give the station's administrators (people, not the service account) the admin role,
    journaled as `role.add` under the approval that named them."""
    from zfjl.vault.settings import add_role

    for user in users:
        add_role(vault, user, "admin", approval_no=approval_no)
