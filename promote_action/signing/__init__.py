"""Signing for the ledger: keys, SSH signatures, signed git objects, DSSE, trust root.

Import from the submodules (`promote_action.signing.keys`, `.sshsig`, `.commit`, `.dsse`,
`.trust`); this package file stays empty of imports so `--help` does not load
`cryptography` or `pygit2`.
"""
