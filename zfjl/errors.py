"""The one error hierarchy of zfjl.

Library code raises these; the CLI catches `ZfjlError` once, prints `message` (one Chinese
line) on stderr and exits with `exit_code`. Exit codes are documented in README.md.
"""

from __future__ import annotations


class ZfjlError(Exception):
    """Base of every error a user can cause or fix."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ZfjlError):
    """A command was called with arguments that do not make sense."""

    exit_code = 2


class VaultError(ZfjlError):
    """The vault is missing, of an unknown format, or unusable."""

    exit_code = 3


class BucketNotLocked(VaultError):
    """The S3 bucket has no Object Lock: originals there could be deleted or overwritten."""


class VaultNotFound(VaultError):
    pass


class UnsupportedVaultVersion(VaultError):
    pass


class JournalInconsistent(VaultError):
    """The journal does not extend what was signed before (tail cut, rows rewritten, catalog.db
    replaced): the signer refuses to sign it (C2SP tlog-checkpoint)."""


class ServiceError(VaultError):
    """The vault service cannot be reached, or the conversation with it broke off."""


class NotFoundError(ZfjlError):
    """A named input (source folder, recording id, file) does not exist."""

    exit_code = 4


class SourceError(ZfjlError):
    """The folder to ingest is missing or is not a folder."""

    exit_code = 4


class AmbiguousIdError(ZfjlError):
    exit_code = 4


class ToolMissing(ZfjlError):
    """An external program (exiftool, ffprobe) is not installed."""

    exit_code = 5


class StorageError(ZfjlError):
    """Writing to the vault failed (I/O error)."""

    exit_code = 6


class DiskFull(StorageError):
    pass


class StoreUnreachable(StorageError):
    """The object store (S3) does not answer: the station keeps its copy and ships later."""


class StoreRefused(StorageError):
    """The object store refused a request: Object Lock (a version before its date, under legal
    hold), or a credential without the right (a station's may not delete)."""


class OutputExists(StorageError):
    """A file a command would write for the person exists already (zfjl.outputs.claim): it is
    replaced only with --force, where the command offers it."""


class CaseFormatError(ZfjlError):
    """A case file (YAML) is malformed: the message names the field and the line."""

    exit_code = 4


class CaseError(ZfjlError):
    """An unknown case, a case that exists already, or an attach that cannot be done."""

    exit_code = 4


class CalendarError(ZfjlError):
    """A holiday notice file is malformed."""

    exit_code = 4


class RuleError(ZfjlError):
    """A rule pack is malformed (unknown predicate, missing field)."""

    exit_code = 4


class DataFileError(ZfjlError):
    """A data file (retention classes, document types) is malformed: which file, which entry."""

    exit_code = 4


class RenderError(ZfjlError):
    """A document cannot be made: a template is missing, or the case lacks what it needs."""

    exit_code = 4


class MissingData(RenderError):
    """A template needs data the case lacks (an art. 23 item, an undefined value)."""


class BundleError(ZfjlError):
    """A case bundle cannot be made (target exists, an original is missing)."""

    exit_code = 4


class MediaError(ZfjlError):
    """ffmpeg cannot read or convert a recording (a proxy, a redaction, face proposals)."""

    exit_code = 4


class Interrupted(ZfjlError):
    """Ctrl-C or SIGTERM: work done so far is kept, the next run finishes the job."""

    exit_code = 130


class Busy(ZfjlError):
    """Another run holds a lock this one needs (two sweeps at once)."""

    exit_code = 7


class NotPermitted(ZfjlError):
    """No grant, role or approval on file for what was asked (arts. 44, 47, 42)."""

    exit_code = 8


class AccessDenied(NotPermitted):
    """A view or export without a valid grant: refused, and the refusal is journaled."""
