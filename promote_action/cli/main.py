"""`kfm-promote` entry point.

Subcommand modules are imported by name and must keep heavy imports inside `run`, so
`kfm-promote --help` and `--version` answer fast in CI logs and pre-commit hooks.
Every library `Error` is caught here, once, and mapped to its exit code with a one-line
message; there is no other place that turns failures into exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from promote_action import __version__

SUBCOMMANDS: dict[str, str] = {
    "validate": "promote_action.cli.validate",
    "hash": "promote_action.cli.hash",
    "init": "promote_action.cli.init",
    "policy": "promote_action.cli.policy",
    "promote": "promote_action.cli.promote",
    "verify": "promote_action.cli.verify",
    "ledger": "promote_action.cli.ledger",
    "quarantine": "promote_action.cli.quarantine",
    "github": "promote_action.cli.github",
    "keygen": "promote_action.cli.keygen",
    "schemas": "promote_action.cli.schemas",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kfm-promote",
        description="Fail-closed dataset promotion: Promotion Contract gates A-G, OPA policy, "
                    "signed hash-chained git ledger. Exit codes: 0 pass, 1 deny/quarantine, "
                    "2 bad input, 3 ledger contention.",
    )
    parser.add_argument("--version", action="version", version=f"kfm-promote {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from promote_action.errors import Error

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except Error as e:
        print(f"kfm-promote: error: {e.diagnostics()}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kfm-promote: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("KFM_DEBUG"):
            raise
        print(f"kfm-promote: internal error: {type(e).__name__}: {' '.join(str(e).split())} "
              "(set KFM_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2
    finally:
        _release_stores()


def _release_stores() -> None:
    """Drop object-store clients while the interpreter is whole: a client (its Rust HTTP
    pool) left for interpreter shutdown can abort the process (SIGABRT) after the
    result was printed, turning a clean exit 1 into a crash."""
    client = sys.modules.get("promote_action.store.client")
    if client is not None:
        import gc

        client.clear_cache()
        gc.collect()


def entrypoint() -> None:
    sys.exit(main())
