"""Sender authenticity and answerability: facts for staff about who wrote a mail and whether it
can be answered (issue 12 deliverables 4 and 5, security.md §4)."""
