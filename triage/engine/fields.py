"""Field validators (fields.md): the public API of :mod:`triage.engine.validators`, kept here for callers.

Each validator takes a value as the member wrote it and a :class:`FieldContext`, and returns
``None`` (no value), :class:`Ok` (the normal form) or :class:`Bad` (written but invalid, with
reasons in Japanese and English). Rule packs reference validators by their names in
:data:`VALIDATORS`.
"""

from __future__ import annotations

from triage.engine.validators import VALIDATORS, Bad, FieldContext, Ok, Result, Validator, normalize_phone

__all__ = ["VALIDATORS", "Bad", "FieldContext", "Ok", "Result", "Validator", "normalize_phone"]
