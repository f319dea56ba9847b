"""The ``make_ingress`` fixture: live ingresses on loopback, shut down after the test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from smtpkit import MAILBOX, SETTINGS, LiveIngress, MakeIngress


@pytest.fixture
def make_ingress() -> Iterator[MakeIngress]:
    started: list[LiveIngress] = []

    def make(
        url: str,
        mailboxes: Iterable[str] = (MAILBOX,),
        busy_timeout_ms: int = 5000,
        **settings: Any,
    ) -> LiveIngress:
        ingress = LiveIngress(url, dataclasses.replace(SETTINGS, **settings), mailboxes, busy_timeout_ms)
        started.append(ingress)
        return ingress

    yield make
    for ingress in started:
        ingress.close()
