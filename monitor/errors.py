"""Domain errors: what went wrong in the domain's words (not found, conflict, invalid), not in
HTTP's. The stores raise them; the API alone turns a kind into a status code (monitor/api/guard.py),
so storage knows nothing about the protocol above it."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    not_found = "not_found"  # the thing asked about does not exist
    conflict = "conflict"  # it exists, but its state does not allow this (e.g. acknowledging a resolved alert)
    invalid = "invalid"  # the request itself is incomplete or wrong (e.g. resolving without an outcome)


class DomainError(ValueError):
    """An operation refused for a reason a caller can act on; `kind` says which."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.conflict) -> None:
        super().__init__(message)
        self.kind = kind
