"""Model and dataset keys whose value may name a store ref instead of a path.

A value of such a key is read by its spelling, never by what exists on disk,
so the same file means the same thing on every machine:

1. ``ref:NAME`` is a ref. The prefix lets a name that contains ``/`` be a ref.
2. A value that starts with ``/``, ``.``, ``~`` or ``$``, or is a URL, is a path.
3. A value with a ``/`` elsewhere is a Hugging Face repo id for keys that
   accept one (``train.model_path``), and a relative path for the others.
4. Anything else is a ref: ``NAME``, ``NAME:TAG``, a digest, a digest prefix
   or ``NAME@blake3:HEX``.

A ref resolves to the store's view of the artifact. When the artifact has
exactly one file, it resolves to that file inside the view, because keys such
as ``chat.model`` take the path of a single GGUF file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..digest import format_digest
from ..errors import ConfigError, IlabfsError, NotFoundError
from .paths import is_url
from .schema import MODEL, Key

REF_PREFIX = "ref:"
REF = "ref"
PATH_VALUE = "path"
HUB = "hub"

_ADD_COMMANDS = {MODEL: "ilab model add", "dataset": "ilab data add"}


@dataclass(frozen=True)
class ResolvedRef:
    """A ref in the config and the artifact it names."""

    key: str
    ref: str
    kind: str
    digest: str
    path: str | None


def classify(key: Key, value: str) -> str:
    """Return REF, PATH_VALUE or HUB for a value of a key that accepts refs."""
    if value.startswith(REF_PREFIX):
        return REF
    if value.startswith(("/", ".", "~", "$")) or is_url(value):
        return PATH_VALUE
    if "/" in value:
        return HUB if key.hub else PATH_VALUE
    return REF


def ref_text(value: str) -> str:
    return value.removeprefix(REF_PREFIX)


def resolve_ref(store, key: Key, value: str, where: str, build_view: bool = True) -> ResolvedRef:
    """Resolve the ref in ``value`` in ``store``, and with ``build_view`` build (or reuse) its view.

    ``where`` is ``file:line`` for messages. An unknown ref raises
    NotFoundError and any other ref error ConfigError; both name the key.
    """
    from ..views import materialize

    ref = ref_text(value)
    try:
        entry = store.resolve(key.role, ref)
    except NotFoundError:
        raise NotFoundError(
            f"{where}: {key.path}: {key.role} {ref!r} not found in the store {store.root}",
            hint=f"add it with {_ADD_COMMANDS[key.role]}, change {key.path} with ilab config set, "
            "or write a path that starts with ./ or /",
            key=key.path,
            ref=ref,
        ) from None
    except IlabfsError as error:
        raise ConfigError(f"{where}: {key.path}: {error.message}", hint=error.hint, key=key.path, ref=ref) from None

    digest = format_digest(entry.digest)
    if not build_view:
        return ResolvedRef(key.path, ref, key.role, digest, None)
    manifest = store.read_manifest(entry.digest)
    folder, _ = materialize(store.layout, manifest, entry.digest)
    path = folder / manifest.layers[0].title if len(manifest.layers) == 1 else folder
    return ResolvedRef(key.path, ref, key.role, digest, str(path))
