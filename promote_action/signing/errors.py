"""The one error a signature check raises.

Kept beside the signing code (not in `promote_action.errors`) so the package is
self-contained; it still derives from the shared root, so the CLI maps it like any other
error. A signature that does not verify is a finding about the ledger (exit 1), not bad
command-line input, hence the exit code.
"""

from __future__ import annotations

from promote_action.errors import Error


class SignatureError(Error):
    """A signature, envelope or signer that does not verify; never 'probably fine'."""

    exit_code = 1
