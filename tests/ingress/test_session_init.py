"""TriageSMTP sets up what aiosmtpd's SMTP.__init__ sets up, without its per-connection lookups."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP

from triage.db.engine import make_engine, session_factory
from triage.ingress.handler import IngressHandler
from triage.ingress.peers import PeerPolicy
from triage.ingress.session import IDENT, Live, SessionLimits, TriageSMTP
from triage.ingress.store import InboundStore


def test_the_fast_set_up_matches_aiosmtpd() -> None:
    handler = IngressHandler(InboundStore(session_factory(make_engine("sqlite://"))), ["secure_jo1"])
    limits = SessionLimits(data_size_limit=1000, command_timeout=42.0)

    async def build() -> tuple[Any, Any]:
        live = Live(PeerPolicy(max_connections=5, per_peer=5))
        ours = TriageSMTP(handler, live=live, host="127.0.0.1", hostname="h.test", limits=limits)
        stock = SMTP(
            handler, data_size_limit=1000, enable_SMTPUTF8=True, decode_data=False, hostname="h.test",
            ident=IDENT, timeout=42.0,
        )  # fmt: skip
        stock._smtp_methods = {name: getattr(ours, f"smtp_{name}") for name in stock._smtp_methods}
        return ours, stock

    ours, stock = asyncio.run(build())
    ours_vars, stock_vars = vars(ours), vars(stock)
    assert set(stock_vars) <= set(ours_vars), set(stock_vars) - set(ours_vars)
    skip = {
        "_stream_reader_wr",
        "_strong_reader",
        "_closed",
        "loop",
        "_loop",
        "_auth_methods",
        "command_size_limits",
    }
    for name, value in stock_vars.items():
        if (
            name in skip
            or name.startswith("_StreamReaderProtocol")
            or (callable(value) and name == "_client_connected_cb")
        ):
            continue
        if name in ("_handle_hooks", "_smtp_methods"):
            assert {k: v.__func__ for k, v in ours_vars[name].items()} == {
                k: v.__func__ for k, v in value.items()
            }, name
            continue
        assert ours_vars[name] == value, name
    assert sorted(ours._auth_methods) == sorted(stock._auth_methods)
    assert ours.command_size_limits is not SMTP.command_size_limits
