"""Rules for the relative file paths stored in manifests.

A manifest names each file by a relative POSIX path (its layer title). The
same title later becomes a path on disk when a view is materialised or an
artifact is pulled, so a title must never be able to reach outside the
folder it is written into.
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidInputError

MAX_TITLE_BYTES = 4096


def title_problem(title: object) -> str | None:
    """Return why ``title`` is unsafe, or None when it is a safe relative path."""
    if not isinstance(title, str) or not title:
        return "it is empty or not a string"
    if len(title.encode("utf-8", "surrogatepass")) > MAX_TITLE_BYTES:
        return f"it is longer than {MAX_TITLE_BYTES} bytes"
    if any(unicodedata.category(ch) == "Cs" for ch in title):
        return "it is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" for ch in title):
        return "it contains a NUL or control character"
    if "\\" in title:
        return "it contains a backslash"
    if title.startswith("/"):
        return "it is an absolute path"
    parts = title.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it has an empty, '.' or '..' component"
    return None


def check_title(title: object, where: str) -> str:
    problem = title_problem(title)
    if problem:
        raise InvalidInputError(
            f"unsafe file name {title!r} in {where}: {problem}",
            hint="file names must be relative paths inside the artifact; nothing was written",
            title=title,
        )
    return title  # type: ignore[return-value]


def check_titles(titles: list[str], where: str) -> None:
    """Check every title, and that no two differ only in case or Unicode normalisation.

    Two such names would land on the same file on a case-insensitive filesystem.
    """
    seen: dict[str, str] = {}
    for title in titles:
        check_title(title, where)
        folded = unicodedata.normalize("NFC", title).casefold()
        if folded in seen:
            raise InvalidInputError(
                f"file names {seen[folded]!r} and {title!r} in {where} differ only in case or Unicode normalization",
                hint="they would overwrite each other on a case-insensitive filesystem; rename one",
                titles=[seen[folded], title],
            )
        seen[folded] = title
