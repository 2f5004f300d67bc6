"""Who may enter an approval into the vault: one set, read by the domain (grants, holds'
releases, destruction, withdrawing and reopening cases, bundles under an approval number) and
by the role registry (granting one of these roles needs an approval number itself).

The approval itself is the director's (art. 47); 法规科 (legal), 局长 (director) and
administrators record it. Anyone may place a hold.
"""

from __future__ import annotations

APPROVING_ROLES: frozenset[str] = frozenset({"legal", "director", "admin"})
