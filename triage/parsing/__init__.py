"""Raw bytes to ParsedMail. `triage.parsing.mime.parse_mail` is the entry point."""
