"""`zfjl bundle`: a case package anyone can verify with standard tools (BagIt 1.0, RFC 8493).

The bag holds the case's original recordings (copied, never linked: a recipient who edits the
bag must not be able to touch the vault), the scans of signed documents, the rendered documents,
the case data, and the custody log. Manifests in SHA-256 and SHA-512 (what `bagit.py
--validate` and `sha256sum -c` read), plus BLAKE3 (the vault's object names) and SM3 lists as
extra tag files. Written into a temporary folder beside the target and renamed into place when
complete; never over an existing path. Every bundle is journaled (art. 46).

Modules: `build` (making one), `bag` (BagIt files), `proofs` (custody log, checkpoint and
Merkle proofs), `verify` and `findings` (checking one).
"""

from zfjl.bundle.build import BundleReport, bundle_case
from zfjl.bundle.findings import BUNDLE_WARNINGS, BundleFinding, BundleVerifyReport
from zfjl.bundle.verify import verify_bundle
from zfjl.errors import BundleError
from zfjl.vault.purposes import BUNDLE_PURPOSES as PURPOSES

__all__ = [
    "BUNDLE_WARNINGS",
    "PURPOSES",
    "BundleError",
    "BundleFinding",
    "BundleReport",
    "BundleVerifyReport",
    "bundle_case",
    "verify_bundle",
]
