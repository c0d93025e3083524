"""The result of a migration: one outcome per item, what was skipped, and the JSON form of it all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..digest import format_digest, short_id
from .inputs import LegacyPaths
from .items import Renamed, Skipped

IMPORTED = "imported"
PRESENT = "present"
PLANNED = "planned"
FAILED = "failed"
STATUSES = (IMPORTED, PRESENT, PLANNED, FAILED)
REPORT_SCHEMA_VERSION = 1


@dataclass
class Outcome:
    """The result for one item: imported, already present, planned (dry run) or failed."""

    kind: str
    status: str
    source: Path
    origin: str
    name: str | None = None
    names: list[str] = field(default_factory=list)
    digest: str | None = None
    # Kind-specific facts for the listing: lineage of models, type and teacher of datasets, metric of evals.
    details: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int | None = None

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "kind": self.kind,
            "name": self.name,
            "names": sorted(self.names),
            "id": short_id(self.digest) if self.digest else None,
            "digest": format_digest(self.digest) if self.digest else None,
            "source": str(self.source),
            "origin": self.origin,
            **self.details,
            "warnings": list(self.warnings),
            "error": self.error,
        }


@dataclass
class Report:
    """Everything a migration did or, with a dry run, would do."""

    paths: LegacyPaths
    mode: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    renamed: list[Renamed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_read: int = 0
    bytes_written: int = 0

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def exit_code(self) -> int:
        """Return 0, or the exit code of the first item that failed."""
        return next((outcome.exit_code or 1 for outcome in self.outcomes if outcome.status == FAILED), 0)

    def to_json(self) -> dict:
        counts = {status: self.count(status) for status in STATUSES}
        counts.update(skipped=len(self.skipped), renamed=len(self.renamed))
        return {
            "schemaVersion": REPORT_SCHEMA_VERSION,
            "dryRun": self.dry_run,
            "mode": self.mode,
            "dataDir": str(self.paths.data_dir),
            "cacheDir": str(self.paths.cache_dir),
            "legacyConfig": str(self.paths.config_file),
            "counts": counts,
            "items": [outcome.to_json() for outcome in self.outcomes],
            "skipped": [{"path": str(item.path), "reason": item.reason} for item in self.skipped],
            "renamed": [
                {"source": str(item.source), "planned": item.planned, "chosen": item.chosen, "reason": item.reason} for item in self.renamed
            ],
            "notes": list(self.notes),
            "bytesRead": self.bytes_read,
            "bytesWritten": self.bytes_written,
        }
