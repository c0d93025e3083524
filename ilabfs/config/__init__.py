"""The versioned ilab config file: schema, loading, migrations, paths, refs and writing.

``load_config()`` reads the file in use and migrates it in memory;
``ilabfs.config.writer`` changes it on disk. docs/config.md describes every key.
"""

from __future__ import annotations

from .keys import CURRENT_VERSION
from .loader import LoadedConfig, configured_store_root, load_config
from .paths import ConfigLocation, locate_config

__all__ = ["CURRENT_VERSION", "ConfigLocation", "LoadedConfig", "configured_store_root", "load_config", "locate_config"]
