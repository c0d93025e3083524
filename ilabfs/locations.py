"""Where ilabfs keeps its config and data, following the platform's conventions.

Config and data folders come from platformdirs for the application name
``instructlab`` (``~/.config/instructlab`` and ``~/.local/share/instructlab``
on Linux, with the XDG variables honoured). The store lives in ``store/``
under the data folder unless ``--store``, ``ILABFS_STORE`` or ``storage.root``
in the config file names another.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "instructlab"
STORE_ENV = "ILABFS_STORE"
CONFIG_ENV = "ILAB_CONFIG"


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return config_dir() / "config.yaml"


def store_root(explicit: str | os.PathLike | None = None, *, config_file: str | os.PathLike | None = None) -> Path:
    """Return the store folder: the explicit one, else $ILABFS_STORE, else ``storage.root`` of the config, else ``<data dir>/store``.

    ``config_file`` is the --config option; without it the config is $ILAB_CONFIG
    or the default file. Relative paths are made absolute once, here, so every
    later step uses the same folder.
    """
    chosen = explicit or os.environ.get(STORE_ENV)
    if chosen:
        return Path(os.path.abspath(os.path.expanduser(os.path.expandvars(str(chosen)))))
    from .config.paths import locate_config

    location = locate_config(config_file)
    # A default config file that does not exist names no storage.root. Checking
    # here spares commands the import of the YAML parser and config schema.
    if not location.explicit and not location.path.exists():
        return data_dir() / "store"
    from .config.loader import configured_store_root

    return configured_store_root(config_file) or data_dir() / "store"
