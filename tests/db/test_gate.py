"""The SQLite write gate: background writers wait while an ingress insert is urgent."""

from __future__ import annotations

import threading

from triage.db.gate import WriteGate


def test_wait_turn_is_immediate_when_nothing_is_urgent() -> None:
    assert WriteGate(max_wait=5.0).wait_turn() is True


def test_wait_turn_waits_for_the_urgent_insert_to_finish() -> None:
    gate = WriteGate(max_wait=5.0)
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def insert() -> None:
        with gate.urgent():
            entered.set()
            release.wait(5)
            order.append("insert")

    thread = threading.Thread(target=insert)
    thread.start()
    entered.wait(5)
    assert gate.waiting == 1
    threading.Timer(0.05, release.set).start()
    assert gate.wait_turn() is True
    order.append("worker")
    thread.join(5)
    assert order == ["insert", "worker"]
    assert gate.waiting == 0


def test_wait_turn_gives_up_after_max_wait_so_the_worker_is_slowed_not_stopped() -> None:
    gate = WriteGate(max_wait=0.05)
    with gate.urgent():
        assert gate.wait_turn() is False
