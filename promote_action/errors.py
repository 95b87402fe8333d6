"""One root exception for everything the library refuses to do.

Findings about a dataset (a failed gate, a policy deny) are *results*, never exceptions;
exceptions are for input we cannot judge at all (a broken file, a missing engine, a ledger
we cannot write). The CLI catches `Error` once and maps it to an exit code, so the core
never prints or exits (the sigstore-python split).
"""

from __future__ import annotations

from dataclasses import dataclass


class Error(Exception):
    """Root of every error the library raises on purpose.

    `exit_code` lets the CLI map errors without a type switch; `diagnostics()` is the one
    line a user sees (file and field first), the raw cause stays in `__cause__`.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field

    def diagnostics(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.field:
                where += f": {self.field}"
            where += ": "
        elif self.field:
            where = f"{self.field}: "
        # One line, always: multi-line causes would break `::error::` annotations and logs.
        return " ".join(f"{where}{self.message}".split())


class InputError(Error):
    """A file or flag we cannot interpret: malformed, unsafe, oversized or inconsistent."""


class UsageError(Error):
    """The command line itself is wrong (conflicting or missing flags)."""


class MissingFileError(InputError):
    """A referenced file does not exist; gates turn this into a finding, not a crash."""


class UnsafePathError(InputError):
    """A path that escapes the workspace, is absolute, or walks through a symlink out."""


class OutputError(Error):
    """An output file could not be written (full disk, permissions); nothing half-written."""


class SchemaError(InputError):
    """A document does not match its JSON Schema."""


class PolicyLoadError(Error):
    """Policy files that do not compile, or data files that conflict."""


class EngineUnavailableError(Error):
    """The requested policy engine is not installed (e.g. `--engine opa` without `opa`)."""


class SigningError(Error):
    """No usable signing key when something must be signed; never downgrade to unsigned."""


class LedgerError(Error):
    """The ledger cannot be read or written consistently (corrupt, foreign, rejected)."""


class LedgerContentionError(LedgerError):
    """Compare-and-swap push kept losing the race; nothing was half-written."""

    exit_code = 3


@dataclass(frozen=True)
class ExitCode:
    """Named exit codes so the CLI and docs agree."""

    OK: int = 0
    DENY: int = 1
    BAD_INPUT: int = 2
    CONTENTION: int = 3


EXIT = ExitCode()
