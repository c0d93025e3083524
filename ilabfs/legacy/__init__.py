"""Adopting an existing InstructLab installation into the store (``ilab migrate-legacy``).

The work has four steps, each in its own module:

1. discovery walks the legacy folders and returns a Plan of typed items.
2. lineage fills in what the legacy config and the phased-training journal
   tell about base models, datasets, teachers and scores.
3. naming makes the names derived from paths unique within the plan.
4. execute imports the plan, or with a dry run only decides what it would do.

plan_migration() runs the first three, which change nothing on disk.
docs/migrate-legacy.md describes what is found where, how it is named and
what lineage it gets.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInputError, NotFoundError
from .discovery import discover
from .execute import execute
from .inputs import JOURNAL_NAME, LegacyPaths, read_journal, read_legacy_config
from .items import Plan
from .lineage import infer_lineage
from .naming import resolve_collisions
from .report import Report

__all__ = ["LegacyPaths", "Plan", "Report", "execute", "plan_migration"]


def plan_migration(paths: LegacyPaths) -> Plan:
    """Find everything under the legacy folders and infer its lineage, without changing anything.

    Raises NotFoundError when neither the data folder nor the cache folder
    exists, and ConfigError when the legacy config exists but is not YAML.
    """
    if not paths.data_dir.is_dir() and not paths.cache_dir.is_dir():
        raise NotFoundError(
            f"no InstructLab folders at {paths.data_dir} or {paths.cache_dir}",
            hint="pass --data-dir and --cache-dir to point at them",
            path=str(paths.data_dir),
        )

    config = read_legacy_config(paths.config_file)
    journal_path = paths.data_dir / "phased" / JOURNAL_NAME
    if config is not None and config.journal:
        journal_path = Path(config.journal).expanduser()
    journal = None
    journal_problem = None
    if journal_path.is_file():
        try:
            journal = read_journal(journal_path)
        except InvalidInputError as error:
            journal_problem = str(error)

    plan = discover(paths, journal.run_id if journal else None)
    if journal_problem:
        plan.skip(journal_path, journal_problem)
    plan = infer_lineage(plan, paths, config, journal)
    return resolve_collisions(plan)
