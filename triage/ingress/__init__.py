"""SMTP ingress: check recipients, store raw bytes and envelope in one commit, then 250."""
