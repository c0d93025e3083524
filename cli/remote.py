"""``ilab model pull|push|export|import`` and ``ilab lock write``: models in registries, layouts and caches."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from . import output
from .context import open_store

lock_app = typer.Typer(
    help="Pin models to exact registry and local digests.\n\nExample: ilab lock write models.lock granite-7b-base",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JOBS_HELP = "Blobs to transfer at the same time (1 to 64)."
USERNAME_HELP = "Registry user name; the password comes from --password-stdin (default: Docker's config.json)."
PASSWORD_HELP = "Read the registry password from standard input (one line)."
INSECURE_HELP = "Allow plain HTTP and unverified TLS certificates for this registry (loopback registries need no flag)."


def pull(
    ctx: typer.Context,
    targets: Optional[List[str]] = typer.Argument(
        None, metavar="REFERENCE | NAME...", help="REGISTRY/REPOSITORY:TAG or @sha256:<hex>; with --lock, the lock entries to pull (default: all)."
    ),
    name: Optional[str] = typer.Option(None, "--name", "-n", metavar="NAME[:TAG]", help="Name to give the model (default: the repository's last part and the tag; none for a pull by digest alone)."),
    force: bool = typer.Option(False, "--force", help="Move NAME[:TAG] here even if another model has it."),
    lock: Optional[str] = typer.Option(None, "--lock", metavar="FILE", help="Pull the models of this lock file by their pinned digests; fail if a tag has moved."),
    jobs: int = typer.Option(4, "--jobs", "-j", metavar="N", help=JOBS_HELP),
    username: Optional[str] = typer.Option(None, "--username", "-u", metavar="USER", help=USERNAME_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_HELP),
    insecure: bool = typer.Option(False, "--insecure", help=INSECURE_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the model ID."),
) -> None:
    """Pull a model from an OCI registry by tag or digest into the store.

    Only blobs the store lacks are downloaded, each verified by size and
    sha256; an interrupted pull resumes where it stopped.

    Example: ilab model pull quay.io/org/granite-7b-base@sha256:9c5b35e6d6c75be64490ad7331aa48491f73d58780d199a8f9034e6129795c1b
    """
    from ilabfs.errors import InvalidInputError
    from ilabfs.oci.lockfile import pull_locked
    from ilabfs.oci.pull import pull as pull_model

    targets = targets or []
    if lock is None and len(targets) != 1:
        raise InvalidInputError("ilab model pull takes one REFERENCE", hint="write REGISTRY/REPOSITORY:TAG, or pass --lock FILE")
    if lock is not None and name:
        raise InvalidInputError("--name cannot be used with --lock", hint="the lock file names each model")
    credentials = read_credentials(username, password_stdin)
    store = open_store(ctx, create=True)
    bars = _bars(json_output, quiet)
    try:
        if lock is not None:
            results = pull_locked(store, lock, targets, jobs=jobs, insecure=insecure, credentials=credentials, progress=bars.bar)
        else:
            results = [pull_model(store, targets[0], name=name, force=force, jobs=jobs, insecure=insecure,
                                  credentials=credentials, progress=bars.bar)]
    finally:
        bars.close()
    if json_output and lock is not None:
        output.emit_json({"pulled": [_pulled_json(result) for result in results]})
        return
    for result in results:
        _print_pulled(result, json_output, quiet)


def _print_pulled(result, json_output: bool, quiet: bool, verb: str = "Pulled", noun: str = "downloaded") -> None:
    if json_output:
        output.emit_json(_pulled_json(result))
    elif quiet:
        typer.echo(result.id)
    else:
        state = verb if result.new else "Already stored"
        label = f"{result.name} as {result.id}" if result.name else f"model {result.id} (unnamed: pass --name to name it)"
        resumed = f", resumed after {output.size(result.resumed_bytes)}" if result.resumed_bytes else ""
        typer.echo(
            f"{state} {label} from {result.source}: {output.count(result.files, 'file')}, "
            f"{result.downloaded} of {output.count(result.blobs, 'blob')} {noun} ({output.size(result.bytes_downloaded)}{resumed}), "
            f"{result.reused} already in the store"
        )


def _pulled_json(result) -> dict:
    from ilabfs.digest import format_digest

    return {
        "id": result.id,
        "digest": format_digest(result.digest),
        "name": result.name,
        "new": result.new,
        "source": result.source,
        "remoteDigest": result.remote_digest,
        "files": result.files,
        "blobs": result.blobs,
        "blobsDownloaded": result.downloaded,
        "bytesDownloaded": result.bytes_downloaded,
        "blobsReused": result.reused,
        "bytesResumed": result.resumed_bytes,
    }


def push(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Model to push: name[:tag], digest or unique digest prefix."),
    destination: str = typer.Argument(..., metavar="REGISTRY/REPOSITORY[:TAG]", help="Where to push; the tag defaults to the tag of the local name."),
    jobs: int = typer.Option(4, "--jobs", "-j", metavar="N", help=JOBS_HELP),
    chunk_size: str = typer.Option("64Mi", "--chunk-size", metavar="SIZE", help="Upload blobs larger than SIZE in chunks of SIZE (bytes, or with Ki, Mi, Gi), so a broken upload resumes."),
    username: Optional[str] = typer.Option(None, "--username", "-u", metavar="USER", help=USERNAME_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=PASSWORD_HELP),
    insecure: bool = typer.Option(False, "--insecure", help=INSECURE_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the pinned REGISTRY/REPOSITORY@sha256:<hex>."),
) -> None:
    """Push a model to an OCI registry as an artifact with sha256 digests and print its manifest digest.

    Only blobs the repository lacks are uploaded. Pushing the same model
    again gives the same digest, so the printed reference is safe to pin.

    Example: ilab model push granite-7b-base quay.io/org/granite-7b-base:v1
    """
    from ilabfs.oci.push import push as push_model

    credentials = read_credentials(username, password_stdin)
    store = open_store(ctx)
    bars = _bars(json_output, quiet)
    try:
        result = push_model(store, ref, destination, jobs=jobs, chunk_size=parse_size(chunk_size, "--chunk-size"),
                            insecure=insecure, credentials=credentials, progress=bars.bar)
    finally:
        bars.close()
    if json_output:
        output.emit_json({
            "id": result.id,
            "reference": result.reference,
            "digest": result.digest,
            "pinned": result.pinned,
            "blobs": result.blobs,
            "blobsUploaded": result.uploaded,
            "blobsMounted": result.mounted,
            "blobsPresent": result.present,
            "bytesUploaded": result.bytes_uploaded,
        })
    elif quiet:
        typer.echo(result.pinned)
    else:
        typer.echo(
            f"Pushed {ref} ({result.id}) to {result.reference}: {output.count(result.blobs, 'blob')}, {result.uploaded} uploaded "
            f"({output.size(result.bytes_uploaded)}), {result.mounted} mounted, {result.present} already there"
        )
        typer.echo(result.pinned)


def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REF", help="Model to export: name[:tag], digest or unique digest prefix."),
    target: str = typer.Argument(..., metavar="DIR[:TAG]", help="OCI layout folder (new, empty, or a layout to add to); the tag defaults to the tag of the local name."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a model as an OCI image layout that skopeo and other OCI tools read.

    Example: ilab model export granite-7b-base ./granite-oci:v1 && skopeo copy oci:./granite-oci:v1 docker://quay.io/org/granite:v1
    """
    from ilabfs.oci.image_layout import export_layout

    result = export_layout(open_store(ctx), ref, target)
    if json_output:
        output.emit_json({
            "folder": result.folder,
            "tag": result.tag,
            "digest": result.digest,
            "localDigest": f"blake3:{result.local_digest}",
            "blobs": result.blobs,
            "blobsCopied": result.copied,
            "bytesCopied": result.bytes_copied,
        })
        return
    typer.echo(
        f"Exported {ref} to {result.folder}:{result.tag} as {result.digest}: {output.count(result.blobs, 'blob')}, "
        f"{result.copied} copied ({output.size(result.bytes_copied)})"
    )


def import_artifact(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="oci:DIR[:TAG] | hf-cache:ORG/NAME[@REVISION]", help="An OCI image layout, or a model in the local Hugging Face hub cache."),
    name: Optional[str] = typer.Option(None, "--name", "-n", metavar="NAME[:TAG]", help="Name to give the model (default: the folder or repository name, and the tag or latest)."),
    force: bool = typer.Option(False, "--force", help="Move NAME[:TAG] here even if another model has it."),
    mode: Optional[str] = typer.Option(None, "--mode", metavar="link|copy", help="hf-cache only: link (the default) hardlinks or reflinks the cache's files, which then become read-only; copy copies them."),
    verify: bool = typer.Option(False, "--verify", help="hf-cache only: check that every cache blob hashes to its name first."),
    jobs: int = typer.Option(4, "--jobs", "-j", metavar="N", help="oci only: blobs to copy at the same time (1 to 64)."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the model ID."),
) -> None:
    """Import a model from an OCI image layout or from the Hugging Face hub cache.

    Layout blobs are verified by size and sha256. Cache files are hardlinked
    where possible, so they share their inode with the store and become
    read-only.

    Example: ilab model import hf-cache:ibm-granite/granite-7b-base@main --name granite-7b-base
    """
    from ilabfs.errors import InvalidInputError

    kind, _, spec = source.partition(":")
    if kind not in ("oci", "hf-cache") or not spec:
        raise InvalidInputError(f"invalid import source {source!r}", hint="write oci:DIR[:TAG] or hf-cache:ORG/NAME[@REVISION]", source=source)
    if mode not in (None, "link", "copy"):
        raise InvalidInputError(f"invalid --mode {mode!r}", hint="use link or copy", mode=mode)
    if kind == "oci" and (mode or verify):
        raise InvalidInputError(
            "--mode and --verify apply to hf-cache imports only",
            hint="an OCI layout's blobs are always copied and verified by sha256",
        )
    store = open_store(ctx, create=True)
    if kind == "oci":
        _import_layout(store, spec, name, force, jobs, json_output, quiet)
    else:
        _import_hf_cache(store, spec, name, force, mode or "link", verify, json_output, quiet)


def _import_layout(store, spec: str, name, force: bool, jobs: int, json_output: bool, quiet: bool) -> None:
    from ilabfs.oci.image_layout import import_layout

    bars = _bars(json_output, quiet)
    try:
        result = import_layout(store, spec, name=name, force=force, jobs=jobs, progress=bars.bar)
    finally:
        bars.close()
    _print_pulled(result, json_output, quiet, verb="Imported", noun="copied")


def _import_hf_cache(store, spec: str, name, force: bool, mode: str, verify: bool, json_output: bool, quiet: bool) -> None:
    from ilabfs.digest import format_digest
    from ilabfs.oci.hfcache import import_hf_cache

    bar = output.ProgressBar(f"Importing {spec}", enabled=not (quiet or json_output))
    try:
        result, repo_id, commit = import_hf_cache(store, spec, name=name, mode=mode, force=force, verify=verify, progress=bar)
    finally:
        bar.close()
    stats = result.stats
    if json_output:
        output.emit_json({
            "id": result.id,
            "digest": format_digest(result.digest),
            "name": result.name,
            "new": result.new,
            "repo": repo_id,
            "commit": commit,
            "files": stats.files,
            "filesReused": stats.reused,
            "bytesWritten": stats.bytes_written,
            "linkKinds": stats.link_kinds,
        })
        return
    if quiet:
        typer.echo(result.id)
        return
    state = "Imported" if result.new else "Already stored"
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(stats.link_kinds.items())) or "none new"
    typer.echo(
        f"{state} {repo_id}@{commit[:12]} as {result.name} ({result.id}): {output.count(stats.files, 'file')} "
        f"({kinds}), {stats.reused} already in the store, {output.size(stats.bytes_written)} written"
    )
    if stats.link_kinds.get("hardlink"):
        typer.echo("The hardlinked files in the Hugging Face cache are now read-only and are the store's blobs: do not edit them in place.")


@lock_app.command("write")
def lock_write(
    ctx: typer.Context,
    file: str = typer.Argument(..., metavar="FILE", help="Lock file to write (JSON); an existing file is replaced."),
    names: List[str] = typer.Argument(..., metavar="NAME...", help="Models to pin: each must have been pulled from or pushed to a registry."),
    json_output: bool = typer.Option(False, "--json", help="Print the entries written as JSON."),
) -> None:
    """Write a lock file that pins models to their registry and local digests.

    Example: ilab lock write models.lock granite-7b-base granite-ft:step-29008
    """
    from ilabfs.oci.lockfile import write_lock

    entries = write_lock(open_store(ctx), file, names)
    if json_output:
        output.emit_json({"file": file, "artifacts": [entry.to_json() for entry in entries]})
        return
    typer.echo(f"Locked {output.count(len(entries), 'model')} in {file}")
    rows = [[entry.name, f"{entry.source}@{entry.digest}" if "@" not in entry.source else entry.source, f"blake3:{entry.local_digest[:12]}"] for entry in entries]
    typer.echo(output.table(["NAME", "SOURCE", "LOCAL"], rows))


def read_credentials(username: str | None, password_stdin: bool):
    """Build explicit credentials from --username and the password on stdin; None leaves Docker's config in charge."""
    from ilabfs.errors import InvalidInputError
    from ilabfs.oci.credentials import Credentials

    if password_stdin and not username:
        raise InvalidInputError("--password-stdin needs --username", hint="pass --username USER as well")
    if not username:
        return None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {username}: ")
    else:
        raise InvalidInputError(
            f"--username {username} needs a password",
            hint="pass --password-stdin and write the password to standard input",
        )
    if not password:
        raise InvalidInputError("the password is empty", hint="write the password to standard input with --password-stdin")
    return Credentials(username, password, origin="--username")


def parse_size(text: str, option: str) -> int:
    """Parse ``64Mi``, ``64M``, ``1Gi`` or a plain byte count."""
    from ilabfs.errors import InvalidInputError

    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = value[-1:] if value[-1:] in units else ""
    number = value[: len(value) - len(unit)]
    if not number.isdigit():
        raise InvalidInputError(f"invalid {option} {text!r}", hint="give bytes, or a number with Ki, Mi or Gi", value=text)
    return int(number) * units[unit]


def _bars(json_output: bool, quiet: bool):
    from .progress import MultiProgress

    return MultiProgress(enabled=not (json_output or quiet))
