"""`triage ingest`: files, mbox files and Maildirs through the whole pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING

from triage.cli.common import EXIT_DATABASE, EXIT_FAILED, EXIT_OK, database, load_rule_set
from triage.clock import SystemClock
from triage.config import Settings

if TYPE_CHECKING:
    from triage.ingest import IngestResult


def _ingest_problem(result: IngestResult) -> str:
    from triage.masking import mask_text  # noqa: PLC0415 - light, but only needed here

    detail = mask_text(result.detail)
    if result.status == "unreadable":
        return f"triage: {detail}"
    if result.status == "failed":
        return f"triage: {result.path}: not processed; inbound {result.inbound_id} parked as failed: {detail}"
    if result.status == "pending":
        return (
            f"triage: {result.path}: processing failed; inbound {result.inbound_id} stays queued "
            f"for a worker (`triage serve`) to retry: {detail}"
        )
    return f"triage: {result.path}: inbound {result.inbound_id} is {result.status}: {detail}"


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    # Heavy imports stay here: `triage check` must not load the database layer.
    from triage.db.migrate import upgrade  # noqa: PLC0415
    from triage.dbstatus import explain  # noqa: PLC0415
    from triage.errors import StoreUnavailable  # noqa: PLC0415
    from triage.ingest import Ingester, Progress, discover, is_tty, summary  # noqa: PLC0415
    from triage.logsetup import configure_logging  # noqa: PLC0415

    configure_logging(logging.INFO if args.verbose else logging.WARNING, args.log_format)
    rules = load_rule_set(settings)
    found = discover(args.paths, settings.max_message_bytes)
    upgrade(settings.database_url)
    results: list[IngestResult] = []
    progress = Progress(sys.stderr, len(found.sources), enabled=is_tty(sys.stderr))
    with database(settings, existing=False) as sessions:
        ingester = Ingester(sessions, settings, rules, clock=SystemClock(), to=args.to)
        progress.start()
        try:
            for source in found.sources:
                result = ingester.ingest(source)
                results.append(result)
                if args.json:
                    print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
                if not result.ok:
                    progress.say(_ingest_problem(result))
                progress.advance()
        except StoreUnavailable as exc:
            progress.say(
                f"triage: {explain(settings.database_url, exc)}; stopped after "
                f"{len(results)} of {len(found.sources)} mails"
            )
            return EXIT_DATABASE
        finally:
            progress.finish()
    if not args.json:
        print(summary(results, len(found.skipped)))
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED
