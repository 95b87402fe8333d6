"""Promotion Contract gates A–G, one module each, run in a fixed order.

The registry is explicit (not discovered) so a missing module is an import error at
start-up, never a gate that silently stopped running.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Gate F (policy) is not a module here: it runs on the capsule built from these results.
GATE_MODULES: dict[str, str] = {
    "A": "promote_action.gates.a_identity",
    "B": "promote_action.gates.b_license",
    "C": "promote_action.gates.c_sensitivity",
    "D": "promote_action.gates.d_catalogs",
    "E": "promote_action.gates.e_receipts",
    "G": "promote_action.gates.g_supply_chain",
}


def gate_modules() -> list[ModuleType]:
    return [importlib.import_module(m) for m in GATE_MODULES.values()]
