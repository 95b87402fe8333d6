"""`kfm-promote keygen --demo --out DIR`: a throw-away signing key for demos and trials.

Writes `DIR/signing_key` (OpenSSH ed25519, mode 0600) and `DIR/allowed_signers` (the
trust-root line for it), so `ledger init`, `promote` and `verify` can share one key
without ssh-keygen. Real deployments create their key with `ssh-keygen -t ed25519` and
keep it in a protected environment secret; this command refuses to run without `--demo`
so nobody mistakes it for that.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keygen", help="write a throw-away demo signing key + allowed_signers")
    p.add_argument("--demo", action="store_true", required=True,
                   help="required: acknowledges the key is throw-away, for demos only")
    p.add_argument("--out", type=Path, required=True, help="directory to create")
    p.add_argument("--principal", default="kfm-demo-bot",
                   help="principal for the allowed_signers line (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from promote_action.errors import UsageError
    from promote_action.signing.keys import generate_demo_key

    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        raise UsageError("directory is not empty", file=str(out))
    key = generate_demo_key()
    pem = key.private.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / "signing_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (out / "allowed_signers").write_text(
        f'{args.principal} namespaces="git" {key.public_openssh}\n', encoding="utf-8")
    print(f"WARNING: generated a THROW-AWAY demo signing key ({key.fingerprint}) in {out}; "
          "never use it for a real ledger.", file=sys.stderr)
    print(key.fingerprint)
    return 0
