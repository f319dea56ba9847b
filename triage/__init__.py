"""triage: inbound e-mail triage for the support desk of Japanese fan-club sites."""

__version__ = "0.1.0"
