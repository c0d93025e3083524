"""Adopting a model from a local Hugging Face hub cache.

huggingface_hub keeps a model repository as ``models--<org>--<name>/`` in
its cache folder (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``): ``blobs/<hash>`` stores each file once,
``snapshots/<commit>/`` lists the files of one commit as symlinks to those
blobs, and ``refs/<name>`` contains the commit a branch or tag pointed at when
it was downloaded. A blob's hash is the sha256 of its content for files
stored with Git LFS and the Git blob sha1 for the others.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..errors import DigestMismatchError, InvalidInputError, NotFoundError
from ..hashing import Progress
from ..scan import SourceFile
from ..store import AddResult, Store
from ..titles import check_titles
from .artifact import model_documents

_REPO = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_REVISION = "main"


def hub_cache() -> Path:
    """Return the hub cache folder, honouring the variables huggingface_hub reads."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expanduser(explicit))
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(os.path.expanduser(home)) / "hub"


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``ORG/NAME[@REVISION]`` into the repository id and the revision (``main`` by default)."""
    repo_id, _, revision = spec.strip().partition("@")
    if not _REPO.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise InvalidInputError(
            f"invalid Hugging Face repository {repo_id!r}",
            hint="write hf-cache:ORG/NAME or hf-cache:ORG/NAME@REVISION, for example hf-cache:ibm-granite/granite-7b-base",
            repo=repo_id,
        )
    return repo_id, revision or DEFAULT_REVISION


def import_hf_cache(store: Store, spec: str, *, name: str | None = None, mode: str = "link", force: bool = False,
                    verify: bool = False, progress: Progress | None = None) -> tuple[AddResult, str, str]:
    """Add the snapshot of a cached repository as a model; return the result, repository id and commit.

    In link mode each file is hardlinked (or reflinked) from the cache, so
    hardlinked cache blobs become read-only and share their inode with the
    store. The config document records the repository and commit under
    ``source``.
    """
    repo_id, revision = parse_spec(spec)
    folder = hub_cache() / f"models--{repo_id.replace('/', '--')}"
    if not folder.is_dir():
        raise NotFoundError(
            f"{repo_id} is not in the Hugging Face cache {folder.parent}",
            hint=f"download it first (huggingface-cli download {repo_id}), or set HF_HUB_CACHE or HF_HOME",
            repo=repo_id,
        )
    commit = resolve_revision(folder, revision, repo_id)
    sources = snapshot_files(folder, commit, repo_id)
    if verify:
        verify_blobs(sources)
    config, summary = model_documents(sources, {"source": {"hub": "huggingface", "repo": repo_id, "commit": commit}})
    default = f"{repo_id.rsplit('/', 1)[-1]}:latest"
    result = store.add_artifact("model", sources, config, name or default, mode=mode, summary=summary, force=force, progress=progress)
    return result, repo_id, commit


def resolve_revision(folder: Path, revision: str, repo_id: str) -> str:
    """Return the commit of ``revision``: itself when it is a commit hash, else what ``refs/<revision>`` holds."""
    if _COMMIT.match(revision):
        commit = revision
    else:
        refs = folder / "refs"
        ref_file = Path(os.path.normpath(refs / revision))
        if refs not in ref_file.parents:
            raise InvalidInputError(f"invalid revision {revision!r}", hint="give a branch, tag or commit hash", revision=revision)
        try:
            commit = ref_file.read_text().strip()
        except FileNotFoundError:
            known = sorted(str(path.relative_to(refs)) for path in refs.rglob("*") if path.is_file()) if refs.is_dir() else []
            raise NotFoundError(
                f"revision {revision!r} of {repo_id} is not in the Hugging Face cache",
                hint=f"cached refs: {', '.join(known) or 'none'}; give one of them or a commit hash",
                revision=revision,
            ) from None
        if not _COMMIT.match(commit):
            raise InvalidInputError(f"{ref_file} does not hold a commit hash", hint="download the repository again", path=str(ref_file))
    if not (folder / "snapshots" / commit).is_dir():
        raise NotFoundError(
            f"commit {commit} of {repo_id} has no snapshot in the Hugging Face cache",
            hint=f"download it first (huggingface-cli download {repo_id} --revision {commit})",
            commit=commit,
        )
    return commit


def snapshot_files(folder: Path, commit: str, repo_id: str) -> list[SourceFile]:
    """List a snapshot's files with the cache blobs they link to; links may not leave the repository's folder."""
    snapshot = folder / "snapshots" / commit
    real_folder = Path(os.path.realpath(folder))
    files: list[SourceFile] = []
    for base, dirnames, filenames in os.walk(snapshot):
        dirnames.sort()
        for entry in sorted(filenames):
            path = Path(base) / entry
            title = path.relative_to(snapshot).as_posix()
            target = Path(os.path.realpath(path))
            if real_folder not in target.parents:
                raise InvalidInputError(
                    f"{path} links outside the cache folder of {repo_id} (to {target})",
                    hint="the cache is damaged; download the repository again",
                    path=str(path),
                )
            try:
                size = os.stat(target).st_size
            except FileNotFoundError:
                raise NotFoundError(
                    f"{path} links to a missing blob {target.name}",
                    hint=f"the cache is incomplete; download {repo_id} again",
                    path=str(path),
                ) from None
            files.append(SourceFile(title, target, size))
    if not files:
        raise InvalidInputError(f"the snapshot {commit} of {repo_id} has no files", hint="download the repository again")
    check_titles([source.title for source in files], str(snapshot))
    return files


def verify_blobs(sources: list[SourceFile]) -> None:
    """Check that every cache blob hashes to its name: sha256 for LFS files, the Git blob sha1 for the others."""
    for source in sources:
        name = source.path.name
        if len(name) == 64:
            hasher = hashlib.sha256()
        elif len(name) == 40:
            hasher = hashlib.sha1(f"blob {source.size}\0".encode(), usedforsecurity=False)
        else:
            continue
        with open(source.path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
        if hasher.hexdigest() != name:
            raise DigestMismatchError(
                f"Hugging Face cache blob {source.path} ({source.title}) does not hash to its name",
                hint="the cache is damaged; delete that blob and download the repository again; nothing was added",
                path=str(source.path),
            )
