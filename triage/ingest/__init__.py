"""`triage ingest`: files, mbox files and Maildir folders through the whole pipeline, as if each
mail had come by SMTP. :mod:`~triage.ingest.sources` finds and reads the messages (and reports
what is not a mail), :mod:`~triage.ingest.run` stores and processes each one,
:mod:`~triage.ingest.progress` draws the bar.
"""

from __future__ import annotations

from triage.ingest.progress import Progress, is_tty
from triage.ingest.run import Ingester, IngestResult, summary
from triage.ingest.sources import (
    Discovery,
    Source,
    UnreadableSource,
    discover,
    not_mail,
    return_path_address,
)

__all__ = [
    "Discovery",
    "IngestResult",
    "Ingester",
    "Progress",
    "Source",
    "UnreadableSource",
    "discover",
    "is_tty",
    "not_mail",
    "return_path_address",
    "summary",
]
