"""What sealing at rest costs the ingress's write and the worker's read (triage/crypto.py).

    .venv/bin/python bench/encryption.py [--mails 400] [--size 20000] [--json]

Stores ``--mails`` mails of about ``--size`` bytes through the ingress's own insert
(``InboundStore.insert``, one committed transaction each) into a fresh SQLite database, then
reads every raw mail back through the model, once without keys (the baseline, in the same run)
and once with TRIAGE_ENCRYPTION_KEYS set. Prints mails per second for both and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from triage import crypto
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import InboundMessage
from triage.ingress.store import InboundStore


def _mail(index: int, size: int) -> bytes:
    head = f"From: m{index}@example.jp\r\nTo: secure_jo1@example.jp\r\nSubject: bench {index}\r\n\r\n"
    line = "お名前：鷲尾 瑞穂 電話番号：080-4417-2986 ドコモ決済番号：738200419865\r\n"
    body = line * (size // len(line.encode("utf-8")) + 1)
    return (head + body).encode("utf-8")[:size]


def _run(folder: Path, name: str, keys: tuple[bytes, ...], mails: int, size: int) -> dict[str, float]:
    url = f"sqlite:///{folder / name}.db"
    upgrade(url)
    engine = make_engine(url, keys=keys)
    sessions = session_factory(engine)
    store = InboundStore(sessions)
    raws = [_mail(index, size) for index in range(mails)]
    try:
        started = time.perf_counter()
        for raw in raws:
            store.insert(raw, "m@example.jp", ["secure_jo1@example.jp"], "127.0.0.1", "bench", False)
        stored = time.perf_counter() - started
        started = time.perf_counter()
        with sessions() as session:
            total = sum(len(raw) for raw in session.scalars(sa.select(InboundMessage.raw)))
        read = time.perf_counter() - started
        assert total == sum(len(raw) for raw in raws)
    finally:
        engine.dispose()
    return {"store_per_s": mails / stored, "read_per_s": mails / read}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=400)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    keys = crypto.parse_keys(crypto.new_key())
    with tempfile.TemporaryDirectory() as folder:
        plain = _run(Path(folder), "plain", (), args.mails, args.size)
        sealed = _run(Path(folder), "sealed", keys, args.mails, args.size)
    result: dict[str, Any] = {
        "mails": args.mails,
        "size": args.size,
        "cpus": os.cpu_count(),
        "plain": plain,
        "sealed": sealed,
        "store_ratio": sealed["store_per_s"] / plain["store_per_s"],
        "read_ratio": sealed["read_per_s"] / plain["read_per_s"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.mails} mails of {args.size} bytes, SQLite, one committed insert each")
    for what in ("store", "read"):
        key = f"{what}_per_s"
        print(
            f"  {what:5}  plain {plain[key]:9.0f}/s   sealed {sealed[key]:9.0f}/s   "
            f"ratio {result[f'{what}_ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
