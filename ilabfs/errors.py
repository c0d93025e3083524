"""Error types of the ilabfs library.

Every failure the library reports is an ``IlabfsError``. Callers branch on the
subclass (the category) and read the fields, never the message text. Each
message says what failed, on which value, and what to do next.
"""

from __future__ import annotations


class IlabfsError(Exception):
    """Root of every error the library raises on purpose."""

    # Stable process exit code for this category; the CLI documents the table.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.values = values

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class InvalidInputError(IlabfsError):
    """An argument or an input file is not acceptable."""

    exit_code = 2


class NotFoundError(IlabfsError):
    """A ref, file or blob does not exist."""

    exit_code = 3


class AmbiguousRefError(IlabfsError):
    """A digest prefix matches more than one artifact."""

    exit_code = 4

    def __init__(self, ref: str, candidates: list[str]) -> None:
        listed = ", ".join(candidates)
        super().__init__(
            f"ref {ref!r} is ambiguous: it matches {listed}",
            hint="use more hex digits or a name",
            ref=ref,
            candidates=candidates,
        )
        self.candidates = candidates


class AlreadyExistsError(IlabfsError):
    """A name or tag is already taken by another artifact."""

    exit_code = 5


class DependencyError(IlabfsError):
    """A delete would break artifacts that depend on the target."""

    exit_code = 6


class DigestMismatchError(IlabfsError):
    """Content does not hash to the digest it was expected to have."""

    exit_code = 7


class CorruptStoreError(IlabfsError):
    """A file of the store is damaged or does not follow the format."""

    exit_code = 8


class LockedError(IlabfsError):
    """A store lock could not be taken within the timeout."""

    exit_code = 9


class UnsupportedFormatError(IlabfsError):
    """The store uses a format version this version of ilabfs does not know."""

    exit_code = 10


class NoSpaceError(IlabfsError):
    """The filesystem of the store has too little free space."""

    exit_code = 11


class ConfigError(IlabfsError):
    """The configuration file is invalid."""

    exit_code = 12


class RemoteError(IlabfsError):
    """A registry or other remote source failed."""

    exit_code = 13
