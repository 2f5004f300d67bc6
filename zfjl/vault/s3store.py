"""The S3 object store with Object Lock: the bureau's bucket (issue 25), the second
implementation of `zfjl.vault.store.ObjectStorage` after the local folder.

- **Keys**: ``<prefix>objects/ab/cdef…`` (the local layout, under an optional prefix).
- **Bucket**: must have Object Lock enabled (which implies versioning); one without it is
  refused (`BucketNotLocked`), a missing one is created with it when asked (`create=True`, the
  owner's credential: a station's may not create buckets).
- **Write once**: `PutObject` / `CompleteMultipartUpload` with ``If-None-Match: *``, which
  SeaweedFS honours (tested with eight racing writers: one version). A HEAD first spares the
  upload of content the bucket holds already (a card ingested twice); it is not what makes the
  write once, the condition is.
- **Checksums**: every PUT and every part carries ``x-amz-checksum-sha256`` of the bytes sent
  (the server refuses a mismatch: BadDigest), and the checksum the server reports back is
  compared with ours (the multipart one is the composite SHA-256 of the parts' SHA-256s).
- **Lock**: every version is written COMPLIANCE-locked until the retain-until the caller gives
  (`put(..., retain_until=)`), by default now + `retention` (the class period). `retain` only
  extends; `hold` is the S3 legal hold; `protection` reads mode, date and hold back from the
  store. The store itself refuses an early delete, a shorter date or a downgrade to
  GOVERNANCE to every credential (tests/test_s3_worm.py).
- **Tombstone token**: the version ID. `delete(oid, token)` deletes exactly that version.
- **Staging**: `stage`/`stage_stream` spool to a private local folder (a local `ObjectStore`'s
  tmp/, so the same copy-and-hash code, the same BLAKE3, the same stale-temp cleanup), and
  `put` uploads the batch (files in parallel, large ones in parallel parts).
- **Credentials and endpoint**: the AWS chain only (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID` /
  `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, the shared config and credentials files): nothing
  secret ever passes through an argument or a command line.

What Object Lock does not cover: the store's own admin side (SeaweedFS's filer HTTP port,
`weed shell`, its volume files) destroys a locked version without asking. That is another
trust domain (docs/scale.md); `protection` says so in its notes, and `exists`/`stat` report
what vanished for `verify`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import blake3

from zfjl.errors import BucketNotLocked, StorageError, StoreRefused, StoreUnreachable
from zfjl.vault.objects import (
    CHUNK,
    CancelFlag,
    Digests,
    FileIdentity,
    ObjectStore,
    Pending,
    StoreResult,
    is_oid,
)
from zfjl.vault.store import ObjectStat, ObjectStorage, Protection

DEFAULT_RETENTION = dt.timedelta(days=184)  # never under art. 42's six months (patrol)
# Above the threshold, parts in parallel (boto3's own: 8 MiB). 16 MiB requests keep their count
# low (SeaweedFS chunks by 4 MiB anyway) and memory bounded: UPLOAD_THREADS × PART_SIZE.
MULTIPART_THRESHOLD = 16 << 20
PART_SIZE = 16 << 20
UPLOAD_THREADS = 8  # requests in flight: the server, not the client, is the bottleneck
DELETE_BATCH = 1000  # DeleteObjects' limit
VERSION_ID_RE = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")
COMPLIANCE = "COMPLIANCE"
DEFAULT_CHECKSUM = "SHA256"
S3_NOTES = (
    "S3 对象锁定（合规模式）：保存期限届满前，任何 S3 凭据都不能删除、覆盖或缩短期限",
    "对象存储自身的管理端口（filer、weed shell）与磁盘不受对象锁定保护：须与工作站隔离，由核验发现缺失",
)
NOT_FOUND_CODES = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}
T = TypeVar("T")


def _sha256(data: bytes | memoryview) -> bytes:
    return hashlib.sha256(data).digest()


def _crc32(data: bytes | memoryview) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


# The transfer checksums S3 defines that Python computes without another package (CRC32C
# would need one). The server verifies what is sent (BadDigest) and a multipart object's is
# the checksum of its parts' checksums ("…-N", COMPOSITE).
CHECKSUMS: dict[str, Callable[[bytes | memoryview], bytes]] = {"SHA256": _sha256, "CRC32": _crc32}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise ValueError(f"retain-until needs a time zone: {when!r}")
    return when.astimezone(dt.UTC)


class S3ObjectStore:
    """An S3 bucket with Object Lock, as a content-addressed write-once object store."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        spool: Path,
        *,
        prefix: str = "",
        profile: str | None = None,
        retention: dt.timedelta = DEFAULT_RETENTION,
        create: bool = False,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
        clock: Callable[[], dt.datetime] | None = None,
        checksum: str = DEFAULT_CHECKSUM,
    ) -> None:
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"a key prefix ends with '/': {prefix!r}")
        if part_size < 5 << 20 or multipart_threshold < part_size:
            raise ValueError("parts are at least 5 MiB and the threshold at least one part")
        if checksum not in CHECKSUMS:
            raise ValueError(f"checksum: one of {sorted(CHECKSUMS)}, not {checksum!r}")
        self.checksum = checksum
        self._digest = CHECKSUMS[checksum]
        self._field = f"Checksum{checksum}"  # the boto3 parameter and response key
        self.bucket = bucket
        self.prefix = prefix
        self.retention = retention
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        (spool / "tmp").mkdir(mode=0o700, exist_ok=True)
        self.spool = spool
        self._staging = ObjectStore(spool)  # its tmp/ holds the staged copies, never objects/
        self._client = _client(profile)
        self._inflight = threading.BoundedSemaphore(UPLOAD_THREADS)
        self.endpoint = str(self._client.meta.endpoint_url)
        self.check_bucket(create)

    # -- the bucket --------------------------------------------------------------------------
    def check_bucket(self, create: bool = False) -> None:
        """Object Lock enabled, or refused (BucketNotLocked); created with it when missing and
        `create`. Run when the store is opened; `verify` runs it again."""
        try:
            conf = self._call("检查存储桶", lambda c: c.get_object_lock_configuration(
                Bucket=self.bucket))  # fmt: skip
        except FileNotFoundError:  # NoSuchBucket
            if not create:
                raise StorageError(
                    f"对象存储中没有存储桶 {self.bucket}（{self.endpoint}）"
                ) from None
            self._call("创建存储桶", lambda c: c.create_bucket(
                Bucket=self.bucket, ObjectLockEnabledForBucket=True))  # fmt: skip
            return self.check_bucket(create=False)
        except _NoLockConfiguration:
            conf = {}
        enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise BucketNotLocked(
                f"存储桶 {self.bucket} 未启用对象锁定（Object Lock）：原始记录无法防删改，拒绝使用；"
                "请由存储管理员新建启用对象锁定的存储桶"
            )
        return None

    # -- naming ----------------------------------------------------------------------------
    def key_for(self, oid: str) -> str:
        if not is_oid(oid):
            raise ValueError(f"not an object id: {oid!r}")
        return f"{self.prefix}objects/{oid[:2]}/{oid[2:]}"

    def _oid_of_key(self, key: str) -> str | None:
        rest = key[len(self.prefix) :] if key.startswith(self.prefix) else ""
        parts = rest.split("/")
        if len(parts) != 3 or parts[0] != "objects" or len(parts[1]) != 2:
            return None
        oid = parts[1] + parts[2]
        return oid if is_oid(oid) else None

    # -- reading (zfjl.vault.store.ObjectStorage) --------------------------------------------
    def _head(self, oid: str, version: str | None = None) -> dict[str, Any]:
        extra = {"VersionId": version} if version else {}
        return self._call(f"读取对象 {oid[:12]}", lambda c: c.head_object(
            Bucket=self.bucket, Key=self.key_for(oid), **extra))  # fmt: skip

    def exists(self, oid: str) -> bool:
        try:
            self._head(oid)
        except FileNotFoundError:
            return False
        return True

    def stat(self, oid: str) -> ObjectStat:
        """Size and tombstone token (the version ID); FileNotFoundError when not stored."""
        head = self._head(oid)
        return ObjectStat(oid, int(head["ContentLength"]), str(head["VersionId"]))

    def open(self, oid: str) -> BinaryIO:
        """The object as a seekable read-only file: ranged GETs of the version current now."""
        st = self.stat(oid)
        raw = _RangedObject(self, oid, st.token, st.size)
        return io.BufferedReader(raw, buffer_size=CHUNK)

    def read(self, oid: str, offset: int, length: int, *, version: str | None = None) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end of the object), one ranged GET."""
        if offset < 0 or length < 0:
            raise ValueError(f"bad range: {offset}+{length}")
        key = self.key_for(oid)
        if length == 0:
            self._head(oid, version)
            return b""
        extra = {"VersionId": version} if version else {}
        try:
            resp = self._call(f"读取对象 {oid[:12]}", lambda c: c.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}",
                **extra))  # fmt: skip
        except _RangeNotSatisfiable:
            return b""  # at or past the end (an empty object has no byte to range over)
        with contextlib.closing(resp["Body"]) as body:
            return bytes(body.read())

    @contextlib.contextmanager
    def local_path(self, oid: str) -> Iterator[Path]:
        """The object downloaded to a private temporary file (0600 in the 0700 spool), for
        tools that need a path (exiftool, typst, bagit); removed when the block ends."""
        # pid-tagged in the spool's tmp/: a killed reader's download is a stale temp like any
        fd, name = tempfile.mkstemp(
            dir=self.spool / "tmp", prefix=f"{os.getpid()}-dl-", suffix=".tmp"
        )
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in self._stream(oid):
                    f.write(chunk)
            path.chmod(0o400)
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _stream(self, oid: str) -> Iterator[bytes]:
        key = self.key_for(oid)
        resp = self._call(f"读取对象 {oid[:12]}", lambda c: c.get_object(
            Bucket=self.bucket, Key=key))  # fmt: skip
        with contextlib.closing(resp["Body"]) as body:
            yield from body.iter_chunks(CHUNK)

    def digest_uncached(self, oid: str) -> str:
        """BLAKE3 of the object as the store serves it now (read from its volumes)."""
        b3 = blake3.blake3()
        for chunk in self._stream(oid):
            b3.update(chunk)
        return b3.hexdigest()

    def list_oids(self) -> Iterator[str]:
        """Every object's id under this store's prefix (other keys are verify's business)."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}objects/"
        )
        with self._errors("列出对象"):
            for page in pages:
                for item in page.get("Contents", []):
                    oid = self._oid_of_key(item["Key"])
                    if oid is not None:
                        yield oid

    def location(self, oid: str) -> str:
        """Where the object lives, for a person to read (`show`, verify's object_missing)."""
        return f"s3://{self.bucket}/{self.key_for(oid)}"

    def strays(self) -> Iterator[str]:
        """Every key under this store's objects/ that is not an object's name."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}objects/"
        )
        with self._errors("列出对象"):
            for page in pages:
                for item in page.get("Contents", []):
                    if self._oid_of_key(item["Key"]) is None:
                        yield item["Key"]

    def versions(self, oid: str) -> list[StoredVersion]:
        """Every version the bucket keeps under the object's key, newest first, delete markers
        included. Write-once means one: a second is a finding for `verify` (a plain PutObject
        without If-None-Match stacked a newer version on the locked original, or a delete
        marker hides it; neither destroys it)."""
        key = self.key_for(oid)
        resp = self._call(f"列出对象 {oid[:12]} 的版本", lambda c: c.list_object_versions(
            Bucket=self.bucket, Prefix=key))  # fmt: skip
        found = [StoredVersion(v["VersionId"], int(v.get("Size", 0)), bool(v.get("IsLatest")),
                               False, v["LastModified"])
                 for v in resp.get("Versions", []) if v["Key"] == key]  # fmt: skip
        found += [StoredVersion(m["VersionId"], 0, bool(m.get("IsLatest")), True, m["LastModified"])
                  for m in resp.get("DeleteMarkers", []) if m["Key"] == key]  # fmt: skip
        # The latest first, then newest first (S3 lists each kind newest first; a stable sort
        # keeps that order within a second, the timestamps' resolution).
        return sorted(found, key=lambda v: (not v.latest, -v.modified.timestamp()))

    def stored_checksum(self, oid: str) -> str:
        """The checksum the store keeps of the object ("sha256:<base64>"; a multipart
        upload's is the composite "…-N"), for the journal; "" when it keeps none."""
        head = self._call(f"读取对象 {oid[:12]}", lambda c: c.head_object(
            Bucket=self.bucket, Key=self.key_for(oid), ChecksumMode="ENABLED"))  # fmt: skip
        value = head.get(self._field)
        return f"{self.checksum.lower()}:{value}" if value else ""

    # -- deleting, retention ---------------------------------------------------------------
    def delete(self, oid: str, token: str) -> bool:
        """Delete exactly the version `token` names; False when that version is not there (gone,
        or another version stored since). The store refuses a locked version: StoreRefused."""
        return oid in self.delete_many([(oid, token)])

    def delete_many(self, items: Iterable[tuple[str, str]]) -> list[str]:
        """`delete` for a batch: the versions still there, in DeleteObjects of up to 1000 keys.
        A refusal (locked, held, no right) of any key is StoreRefused, after the others."""
        present = []
        for oid, token in items:
            if not VERSION_ID_RE.match(token):
                raise ValueError(f"not an S3 version ID: {token!r}")
            try:
                self._head(oid, token)
            except FileNotFoundError:
                continue
            present.append((oid, token))
        done: list[str] = []
        refused: list[str] = []
        for start in range(0, len(present), DELETE_BATCH):
            batch = present[start : start + DELETE_BATCH]
            objects = [{"Key": self.key_for(o), "VersionId": t} for o, t in batch]
            resp = self._call("删除对象", lambda c, objs=objects: c.delete_objects(  # type: ignore[misc]
                Bucket=self.bucket, Delete={"Objects": objs, "Quiet": False}))  # fmt: skip
            deleted = {(d["Key"], d.get("VersionId")) for d in resp.get("Deleted", [])}
            for oid, token in batch:
                (done if (self.key_for(oid), token) in deleted else refused).append(oid)
        if refused:
            raise StoreRefused(
                f"对象存储拒绝删除 {len(refused)} 个对象（对象锁定期限未届满、法律封存中或凭据无删除权限），"
                f"如 {refused[0][:12]}；其余 {len(done)} 个已删除"
            )
        return done

    def retain(self, oid: str, until: dt.datetime) -> None:
        """Extend the current version's COMPLIANCE retain-until to `until`; an earlier date is
        no change (never a shortening: the store would refuse it anyway)."""
        until = _utc(until)
        head = self._head(oid)
        current = head.get("ObjectLockRetainUntilDate")
        if current is not None and head.get("ObjectLockMode") == COMPLIANCE and current >= until:
            return
        self._call(f"延长对象 {oid[:12]} 的保存期限", lambda c: c.put_object_retention(
            Bucket=self.bucket, Key=self.key_for(oid), VersionId=head["VersionId"],
            Retention={"Mode": COMPLIANCE, "RetainUntilDate": until}))  # fmt: skip

    def hold(self, oid: str, on: bool) -> None:
        """The S3 legal hold of the current version, on or off."""
        version = self._head(oid)["VersionId"]
        self._call(f"设置对象 {oid[:12]} 的法律封存", lambda c: c.put_object_legal_hold(
            Bucket=self.bucket, Key=self.key_for(oid), VersionId=version,
            LegalHold={"Status": "ON" if on else "OFF"}))  # fmt: skip

    def protection(self, oid: str, *, version: str | None = None) -> Protection:
        """Mode, retain-until and legal hold as the store reports them (one HEAD), of the
        current version or of `version`; FileNotFoundError when that version is not there."""
        head = self._head(oid, version)
        mode = head.get("ObjectLockMode")
        until = head.get("ObjectLockRetainUntilDate")
        until = until.astimezone(dt.UTC) if until is not None else None
        held = head.get("ObjectLockLegalHoldStatus") == "ON"
        locked = mode == COMPLIANCE and until is not None and until > self._clock()
        return Protection(read_only=True, worm=locked or held, retain_until=until,
                          legal_hold=held, notes=S3_NOTES, mode=mode)  # fmt: skip

    # -- writing ---------------------------------------------------------------------------
    def stage(self, src_fd: int, before: FileIdentity, cancel: CancelFlag | None = None) -> Pending:
        """Copy and hash an open source into the private spool (see ObjectStore.stage)."""
        return self._staging.stage(src_fd, before, cancel)

    def stage_stream(
        self, stream: BinaryIO, *, size: int | None = None, expect: str | None = None
    ) -> Pending:
        return self._staging.stage_stream(stream, size=size, expect=expect)

    def discard(self, pendings: list[Pending]) -> None:
        self._staging.discard(pendings)

    def put(
        self, pendings: list[Pending], *, retain_until: dt.datetime | None = None
    ) -> list[StoreResult]:
        """Upload a batch of staged copies, COMPLIANCE-locked until `retain_until` (default: now
        + the class period), write-once; the staged copies are removed whatever happens. When
        this returns every object is in the bucket, its checksum checked by the server and by
        us, and the catalog may name it."""
        try:
            return self.upload([(p.tmp_path, p.digests) for p in pendings],
                               retain_until=retain_until)  # fmt: skip
        finally:
            self.discard(pendings)

    def upload(
        self, files: list[tuple[Path, Digests]], *, retain_until: dt.datetime | None = None
    ) -> list[StoreResult]:
        """`put` for files that stay where they are: a station's own objects being shipped
        (zfjl/vault/ship.py), read, never moved nor removed. Files in parallel, a large one in
        parallel parts; at most UPLOAD_THREADS requests (and parts in memory) at once."""
        if retain_until is not None and _utc(retain_until) <= self._clock():
            raise ValueError(f"retain-until in the past: {retain_until.isoformat()}")
        if not files:
            return []
        with ThreadPoolExecutor(min(UPLOAD_THREADS, len(files)), "s3-put") as pool:
            created = list(pool.map(lambda f: self._put_one(f[0], f[1], retain_until), files))
        return [StoreResult(d, c, self.spool) for (_, d), c in zip(files, created, strict=True)]

    def _put_one(self, path: Path, digests: Digests, retain_until: dt.datetime | None) -> bool:
        """Upload one file unless the bucket holds the object; True when this call created it.
        The default date is taken as this object's upload starts."""
        oid = digests.blake3
        if self.exists(oid):
            return False
        until = _utc(retain_until) if retain_until else self._clock() + self.retention
        lock = {"ObjectLockMode": COMPLIANCE, "ObjectLockRetainUntilDate": until}
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check_size(digests, os.fstat(fd).st_size)
            if digests.size > self.multipart_threshold:
                self._put_multipart(fd, digests, lock)
            else:
                self._put_single(fd, digests, lock)
        except _PreconditionFailed:
            return False  # another writer placed it first: never overwritten
        finally:
            os.close(fd)
        return True

    def _put_single(self, fd: int, digests: Digests, lock: dict[str, Any]) -> None:
        oid = digests.blake3
        with self._inflight:
            data = os.pread(fd, digests.size, 0) if digests.size else b""
            checksum = _b64(self._digest(data))
            resp = self._call(f"上传对象 {oid[:12]}", lambda c: c.put_object(
                Bucket=self.bucket, Key=self.key_for(oid), Body=data, ContentLength=len(data),
                IfNoneMatch="*", ContentType="application/octet-stream",
                **{self._field: checksum}, **lock))  # fmt: skip
        self._check_checksum(oid, resp, checksum)

    def _put_multipart(self, fd: int, digests: Digests, lock: dict[str, Any]) -> None:
        oid = digests.blake3
        key = self.key_for(oid)
        upload = self._call(f"上传对象 {oid[:12]}", lambda c: c.create_multipart_upload(
            Bucket=self.bucket, Key=key, ChecksumAlgorithm=self.checksum,
            ContentType="application/octet-stream", **lock))["UploadId"]  # fmt: skip
        try:
            parts = self._upload_parts(fd, digests.size, key, upload)
            composite = self._digest(b"".join(base64.b64decode(p[self._field]) for p in parts))
            expected = f"{_b64(composite)}-{len(parts)}"
            resp = self._call(f"上传对象 {oid[:12]}", lambda c: c.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload, IfNoneMatch="*",
                MultipartUpload={"Parts": parts}))  # fmt: skip
            self._check_checksum(oid, resp, expected)
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            raise

    def _upload_parts(self, fd: int, size: int, key: str, upload: str) -> list[dict[str, Any]]:
        """The parts in parallel, each read with pread and sent with its SHA-256."""
        offsets = list(range(0, size, self.part_size))

        def send(n: int) -> dict[str, Any]:
            with self._inflight:  # shared with the other files' uploads: bounded memory
                data = os.pread(fd, self.part_size, offsets[n])
                checksum = _b64(self._digest(data))
                resp = self._call(f"上传对象 {key[-12:]} 的第 {n + 1} 段", lambda c: c.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=n + 1, Body=data,
                    ContentLength=len(data), **{self._field: checksum}))  # fmt: skip
            if resp.get(self._field, checksum) != checksum:
                raise StorageError(f"上传对象 {key[-12:]} 第 {n + 1} 段：存储返回的校验和不符")
            return {"PartNumber": n + 1, "ETag": resp["ETag"], self._field: checksum}

        with ThreadPoolExecutor(min(UPLOAD_THREADS, len(offsets)), "s3-part") as pool:
            return list(pool.map(send, range(len(offsets))))

    def _check_checksum(self, oid: str, resp: dict[str, Any], expected: str) -> None:
        """The checksum the server computed of what it stored must be the one we sent."""
        got = resp.get(self._field)
        if got is not None and got != expected:
            raise StorageError(f"上传对象 {oid[:12]}：存储返回的 {self.checksum} 校验和与本地不符")

    # -- housekeeping ---------------------------------------------------------------------
    def clean_stale_temps(self) -> int:
        """Staged copies and downloads left by writers no longer running (the spool's tmp/),
        and the bucket's multipart uploads this prefix left unfinished a day ago or more."""
        removed = self._staging.clean_stale_temps()
        self._abort_stale_uploads(dt.timedelta(days=1))
        return removed

    def _abort_stale_uploads(self, older: dt.timedelta) -> None:
        with contextlib.suppress(StorageError):
            resp = self._call("列出未完成的上传", lambda c: c.list_multipart_uploads(
                Bucket=self.bucket, Prefix=f"{self.prefix}objects/"))  # fmt: skip
            cutoff = self._clock() - older
            for up in resp.get("Uploads", []):
                if up["Initiated"] < cutoff:
                    with contextlib.suppress(Exception):
                        self._client.abort_multipart_upload(
                            Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                        )

    def remove_own_temps(self) -> None:
        self._staging.remove_own_temps()

    # -- errors ----------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        with self._errors(what):
            return fn(self._client)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """botocore's errors as zfjl's: one clear Chinese line each."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        try:
            yield
        except ClientError as exc:
            raise _client_error(exc, what, self.bucket) from exc
        except (EndpointConnectionError, ConnectionError) as exc:
            raise StoreUnreachable(
                f"无法连接对象存储 {self.endpoint}（{what}）：请检查网络与存储服务；站内副本完好，恢复后再同步"
            ) from exc
        except NoCredentialsError as exc:
            raise StoreRefused(
                f"没有对象存储的凭据（{what}）：请按 AWS 惯例设置 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY、"
                "AWS_PROFILE 或凭据文件"
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(f"对象存储出错（{what}）：{exc}") from exc


@dataclass(frozen=True)
class StoredVersion:
    """One version of an object's key as the bucket lists it."""

    version: str
    size: int
    latest: bool
    delete_marker: bool
    modified: dt.datetime


class _PreconditionFailed(Exception):
    """If-None-Match refused: the key exists already."""


class _RangeNotSatisfiable(Exception):
    """A range at or past the end of the object."""


class _NoLockConfiguration(Exception):
    """The bucket exists without an Object Lock configuration."""


def _client_error(exc: Any, what: str, bucket: str) -> Exception:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if (
        code in NOT_FOUND_CODES
        or code == "NoSuchBucket"
        or (status == 404 and not code.startswith("ObjectLock"))
    ):
        return FileNotFoundError(f"{what}：不存在（{code}）")
    if code == "PreconditionFailed" or status == 412:
        return _PreconditionFailed(what)
    if code == "InvalidRange" or status == 416:
        return _RangeNotSatisfiable(what)
    if code == "ObjectLockConfigurationNotFoundError":
        return _NoLockConfiguration(bucket)
    if code in ("AccessDenied", "Forbidden") or status == 403:
        return StoreRefused(
            f"对象存储拒绝了{what}（AccessDenied）：对象锁定期限未届满、法律封存中，或本凭据无此权限"
        )
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return StoreRefused(f"对象存储不认可本站的凭据（{what}，{code}）：请核对访问密钥")
    if isinstance(status, int) and status >= 500:  # SeaweedFS: a needle's CRC fails on read
        return StorageError(
            f"对象存储内部错误（{what}，{code}）：存储端的数据或服务可能已损坏，请联系存储管理员并运行 zfjl verify"
        )
    if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
        return StorageError(f"{what}：对象存储收到的内容与校验和不符（{code}），未保存；请重试")
    return StorageError(f"对象存储出错（{what}）：{code} {err.get('Message', '')}".rstrip())


def _check_size(digests: Digests, size: int) -> None:
    if size != digests.size:
        raise StorageError(
            f"待上传的副本 {digests.blake3[:12]} 大小已变（{size} ≠ {digests.size}），未上传"
        )




_clients: dict[tuple[object, ...], Any] = {}
_clients_lock = threading.Lock()


def _client(profile: str | None) -> Any:
    """An S3 client from the AWS chain: the profile (or AWS_PROFILE, or the default), the
    endpoint from AWS_ENDPOINT_URL or the profile's endpoint_url, the keys from the
    environment, the shared credentials or config file. No argument carries a secret.
    Clients are thread-safe and costly to make (botocore loads its models: ~0.2 s), so one per
    process, profile and AWS environment is kept (a forked child makes its own)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    key = (os.getpid(), profile, env)
    from botocore.exceptions import BotoCoreError

    with _clients_lock:
        if key not in _clients:
            try:
                _clients[key] = _new_client(profile)
            except BotoCoreError as exc:  # a profile that is not there, a config file unreadable
                raise StoreRefused(
                    f"对象存储的 AWS 配置有误：{exc}（请检查 AWS_PROFILE、AWS_CONFIG_FILE 与凭据文件）"
                ) from exc
        return _clients[key]


_loader: list[Any] = []  # botocore's model loader, shared: its cache makes a client 30 ms, not 300


def _new_client(profile: str | None) -> Any:
    import botocore.loaders
    import botocore.session
    from botocore.config import Config

    if not _loader:
        _loader.append(botocore.loaders.create_loader())
    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", _loader[0])
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,  # a link that drops packets is "unreachable" in 30 s, not 3 min
        max_pool_connections=UPLOAD_THREADS * 2,
        # We send our own SHA-256 on every write; botocore's default CRC32 trailer on top
        # would be a second checksum pass and an aws-chunked body for nothing.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    )
    region = session.get_config_variable("region") or "us-east-1"
    return session.create_client("s3", region_name=region, config=config)


class _RangedObject(io.RawIOBase):
    """A seekable read-only view of one version of an object, each read a ranged GET."""

    def __init__(self, store: S3ObjectStore, oid: str, version: str, size: int) -> None:
        self._store, self._oid, self._version, self._size = store, oid, version, size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), max(0, self._size - self._pos))
        if want == 0:
            return 0
        data = self._store.read(self._oid, self._pos, want, version=self._version)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        """The rest in CHUNK-sized GETs (RawIOBase's own would ask 8 KiB at a time)."""
        parts = []
        while self._pos < self._size:
            data = self._store.read(self._oid, self._pos, CHUNK, version=self._version)
            if not data:
                break
            parts.append(data)
            self._pos += len(data)
        return b"".join(parts)


def _implements_the_seam(store: S3ObjectStore) -> ObjectStorage:
    """Never called: mypy checks here that the S3 store implements ObjectStorage."""
    return store
