"""ilabfs: a content-addressed store for InstructLab models, datasets and eval results.

The library never prints. Import what you need from its modules, or use the
names below, which load their modules on first use so that importing the
package stays cheap.
"""

from __future__ import annotations

__version__ = "0.2.0"

_EXPORTS = {
    "Store": "ilabfs.store",
    "add_model": "ilabfs.models",
    "IlabfsError": "ilabfs.errors",
    "store_root": "ilabfs.locations",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ilabfs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
