"""Location of the config file in use, and resolution of the path values in it.

The file is ``--config FILE`` when given, else ``$ILAB_CONFIG``, else
``config.yaml`` in the platform config folder. A path value has ``~`` and
``$VAR`` expanded. A relative path is then joined to a base folder that never
depends on the working folder: the data folder when the file is the default
one, else the folder of the config file itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..locations import APP_NAME, CONFIG_ENV, data_dir, default_config_file

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_UNSET_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


@dataclass(frozen=True)
class ConfigLocation:
    """The config file in use and how it was chosen."""

    path: Path
    source: str

    @property
    def explicit(self) -> bool:
        return self.source != "default"

    @property
    def base_dir(self) -> Path:
        """Return the folder that relative paths in the file are joined to."""
        return self.path.parent if self.explicit else data_dir()


def locate_config(option: str | os.PathLike | None = None) -> ConfigLocation:
    """Return the config file named by ``option`` (the --config option), else $ILAB_CONFIG, else the default.

    The option and the variable are command-line input, so a relative one is
    taken from the working folder, once, here.
    """
    if option:
        return ConfigLocation(_absolute(option), "--config")
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return ConfigLocation(_absolute(from_env), CONFIG_ENV)
    return ConfigLocation(default_config_file(), "default")


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.path.expandvars(str(path)))))


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def folders() -> dict[str, str]:
    """Return the values of the ``{data}`` and ``{cache}`` placeholders in defaults."""
    return {"{data}": str(data_dir()), "{cache}": str(cache_dir())}


def fill_placeholders(value: object) -> object:
    if not isinstance(value, str):
        return value
    for placeholder, folder in folders().items():
        value = value.replace(placeholder, folder)
    return value


def is_url(value: str) -> bool:
    return bool(_URL.match(value))


def expand(value: str, key: str) -> str:
    """Expand ``~`` and ``$VAR``; raise ConfigError when a variable is not set, naming it and the key."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    unset = _UNSET_VARIABLE.search(expanded)
    if unset:
        raise ConfigError(
            f"{key}: {value!r} uses the environment variable {unset.group(0)}, which is not set",
            hint=f"set {unset.group(0).strip('${}')} or change {key} with ilab config set",
            key=key,
            value=value,
        )
    return expanded


def resolve_path(value: str, key: str, base_dir: Path) -> str:
    """Return the absolute, normalized path that ``value`` names; URLs are returned unchanged."""
    if is_url(value):
        return value
    expanded = expand(value, key)
    if is_url(expanded):
        return expanded
    return os.path.normpath(os.path.join(base_dir, expanded))
