"""Rule engine: field-level normalisation and validation, and (extract) finding values in mail text."""
