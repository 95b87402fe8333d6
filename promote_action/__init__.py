"""kfm-promote: fail-closed dataset promotion with a signed, hash-chained git ledger.

The package is a library first (spec, gates, capsule, policy, manifest, ledger) with a
thin CLI on top; nothing under the core prints or exits.
"""

__version__ = "0.1.0"
