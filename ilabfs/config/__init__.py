"""The versioned ilab config file: schema, loading, migrations, paths, refs and writing.

``load_config()`` reads the file in use and migrates it in memory;
``ilabfs.config.writer`` changes it on disk. docs/config.md describes every key.
"""

from __future__ import annotations

# The names below load their modules on first use, so that importing a light
# submodule such as ilabfs.config.paths does not import the YAML parser.
_EXPORTS = {
    "CURRENT_VERSION": "ilabfs.config.keys",
    "ConfigLocation": "ilabfs.config.paths",
    "LoadedConfig": "ilabfs.config.loader",
    "configured_store_root": "ilabfs.config.loader",
    "load_config": "ilabfs.config.loader",
    "locate_config": "ilabfs.config.paths",
}

__all__ = ["CURRENT_VERSION", "ConfigLocation", "LoadedConfig", "configured_store_root", "load_config", "locate_config"]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ilabfs.config' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
