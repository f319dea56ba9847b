"""Cases: open, merge follow-ups, provenance."""
