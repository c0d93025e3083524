"""Every path and ref of a config, as the programs that read the config will use it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFoundError
from ..locations import data_dir, store_root
from .document import lookup
from .keys import KEYS
from .loader import LoadedConfig, Override
from .paths import resolve_path
from .refs import HUB, REF, classify, ref_text, resolve_ref
from .schema import Key


@dataclass(frozen=True)
class Resolved:
    """The value a key resolves to, and a note on where it came from, for ``show --resolved``."""

    key: str
    value: object
    note: str | None = None


def effective_store_root(loaded: LoadedConfig, overrides: dict[str, Override]) -> Resolved:
    """Return the store folder: --store, else $ILABFS_STORE, else storage.root, else <data dir>/store."""
    override = overrides.get("storage.root")
    if override is not None:
        return Resolved("storage.root", str(store_root(str(override.value))), f"from {override.source}")
    found, value = lookup(loaded.document, "storage.root")
    if found and isinstance(value, str) and value:
        return Resolved("storage.root", resolve_path(value, "storage.root", loaded.location.base_dir))
    return Resolved("storage.root", str(data_dir() / "store"), "default")


def resolve_values(
    loaded: LoadedConfig,
    effective: dict,
    overrides: dict[str, Override],
    selection: str | None = None,
    build_views: bool = True,
) -> dict[str, Resolved]:
    """Resolve the path and ref keys of ``effective``, the config with defaults and overrides applied.

    Relative paths are joined to the base folder of the config file. Refs are
    resolved in the effective store; with ``build_views`` a ref resolves to its
    view, built when missing, else to its digest only. ``selection`` limits the
    work to one key or section. Raises NotFoundError or ConfigError naming the
    key of a ref that does not resolve.
    """
    base = loaded.location.base_dir
    store_location = effective_store_root(loaded, overrides)
    opener = _StoreOpener(Path(str(store_location.value)))
    results = {"storage.root": store_location} if _selected("storage.root", selection) else {}

    for key in KEYS.values():
        if not key.role or key.path == "storage.root" or not _selected(key.path, selection):
            continue
        found, value = lookup(effective, key.path)
        if not found or not isinstance(value, str) or not value or value in key.keywords:
            continue
        results[key.path] = _resolve_one(loaded, key, value, base, opener, build_views)

    found, models = lookup(effective, "models")
    if found and isinstance(models, list) and _selected("models", selection):
        results["models"] = Resolved("models", _resolve_model_list(models, base))
    return results


def _selected(dotted: str, selection: str | None) -> bool:
    return selection is None or dotted == selection or dotted.startswith(f"{selection}.")


def _resolve_one(loaded: LoadedConfig, key: Key, value: str, base: Path, opener: _StoreOpener, build_views: bool) -> Resolved:
    if not key.accepts_ref:
        return Resolved(key.path, resolve_path(value, key.path, base))
    kind = classify(key, value)
    if kind == HUB:
        return Resolved(key.path, value, "Hugging Face repo id")
    if kind == REF:
        where = loaded.where(key.path)
        resolved = resolve_ref(opener.open(key, ref_text(value), where), key, value, where, build_views)
        return Resolved(key.path, resolved.path or resolved.digest, f"{resolved.kind} {resolved.ref} = {resolved.digest}")
    return Resolved(key.path, resolve_path(value, key.path, base))


def _resolve_model_list(models: list, base: Path) -> list:
    resolved = []
    for index, item in enumerate(models):
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            item = dict(item)
            item["path"] = resolve_path(item["path"], f"models[{index}].path", base)
        resolved.append(item)
    return resolved


class _StoreOpener:
    """Open the store on the first ref, so a config without refs never needs one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = None

    def open(self, key: Key, ref: str, where: str):
        from ..store import Store

        if self.store is None:
            try:
                self.store = Store(self.root, create=False)
            except NotFoundError:
                raise NotFoundError(
                    f"{where}: {key.path}: {key.role} {ref!r} is a ref, but there is no store at {self.root}",
                    hint="add the artifact to the store first, point --store at the right store, "
                    "or write a path that starts with ./ or /",
                    key=key.path,
                    ref=ref,
                ) from None
        return self.store
