"""Field validators: one named normaliser/validator per field kind (fields.md), by concept.

base (results, context, shared helpers), names, dates, contact, numbers, choices. Rule packs
reference validators by their names in :data:`VALIDATORS`; each runs :func:`~.base.bounded`, so a
pattern that runs out of time reads no value.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

from triage.engine.validators import choices, contact, dates, names, numbers
from triage.engine.validators.base import Bad, FieldContext, Ok, Result, Validator, bounded
from triage.engine.validators.contact import normalize_phone

__all__ = ["VALIDATORS", "Bad", "FieldContext", "Ok", "Result", "Validator", "normalize_phone"]

VALIDATORS: Mapping[str, Validator] = types.MappingProxyType(
    {
        name: bounded(validator)
        for name, validator in {
            "name_kanji": names.name_kanji,
            "name_kana": names.name_kana,
            "nonempty": names.nonempty,
            "nickname": names.nickname,
            "address": names.address,
            "plain_text": names.plain_text,
            "login_id": names.login_id,
            "edge_chars": names.edge_chars,
            "birth_date": dates.birth_date,
            "prefecture": contact.prefecture,
            "phone": contact.phone,
            "email": contact.email,
            "payment_method": choices.payment_method,
            "carrier": choices.carrier,
            "docomo_payment_number": numbers.docomo_payment_number,
            "au_billing_id": numbers.au_billing_id,
            "softbank_order_number": numbers.softbank_order_number,
            "plus_member_id": numbers.plus_member_id,
            "digits_4_12": numbers.digits_4_12,
            "login_password": numbers.login_password,
            "password_length": numbers.password_length,
            "course": choices.course,
            "card_last4": numbers.card_last4,
        }.items()
    }
)
