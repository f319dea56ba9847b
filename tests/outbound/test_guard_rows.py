"""The reply guard answered from rows fetched beforehand agrees with its query, on any rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import OutboundMessage, OutboundStatus
from triage.outbound.ratelimit import RECENT_REPLIES, RecentReply, guard_from_rows, guard_horizon, reply_guard

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
ADDR = "member@example.jp"

_rows = st.lists(
    st.tuples(
        st.sampled_from(list(OutboundStatus)),
        st.sampled_from([None, "550 no such user", "451 try later", "5", "421"]),
        # around every window's edge: seconds back from now, a few exactly on a boundary
        st.one_of(st.integers(0, 90_000), st.sampled_from([600, 3600, 86_400, 60 * 86_400])),
        st.sampled_from([ADDR, "other@example.jp"]),
    ),
    max_size=12,
)
_limits = st.lists(st.tuples(st.integers(1, 4), st.sampled_from([600, 3600, 86_400])), min_size=1, max_size=3)


def test_guard_from_rows_agrees_with_the_guard_query(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=_rows, limits=_limits)
    def agrees(
        rows: list[tuple[OutboundStatus, str | None, int, str]], limits: list[tuple[int, int]]
    ) -> None:
        with sessions() as session:
            session.execute(sa.delete(OutboundMessage))
            for n, (status, error, seconds_back, to_addr) in enumerate(rows):
                created = NOW - dt.timedelta(seconds=seconds_back)
                session.add(
                    OutboundMessage(
                        template="needs_info",
                        language="ja",
                        to_addr=to_addr,
                        from_addr="secure_login@cc.example.jp",
                        subject="s",
                        body="b",
                        message_id=f"r.{n}.x@cc.example.jp",
                        raw=b"",
                        status=status,
                        created_at=created,
                        attempts=0,
                        next_attempt_at=created,
                        give_up_at=created,
                        last_error=error,
                    )
                )
            session.flush()
            fetched = [
                RecentReply(status, error, created)
                for to_addr, status, error, created in session.execute(
                    RECENT_REPLIES, {"addrs": [ADDR], "earliest": guard_horizon(NOW, limits)}
                )
            ]
            assert guard_from_rows(fetched, NOW, limits) == reply_guard(session, ADDR, NOW, limits)
            session.rollback()

    agrees()
    engine.dispose()
