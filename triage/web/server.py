"""The staff web app under uvicorn, on the caller's event loop (`triage serve --web`).

uvicorn's ``Server.serve`` installs its own signal handlers and re-raises the signal after
shutting down; `triage serve` owns SIGTERM/SIGINT for every part, so this server takes none and
stops when the shared stop event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn

from triage.errors import CannotListen
from triage.health import Ops
from triage.web.app import create_app
from triage.web.context import WebContext


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebServer:
    def __init__(self, ctx: WebContext, host: str, port: int, ops: Ops | None = None) -> None:
        config = uvicorn.Config(
            create_app(ctx, ops),
            host=host,
            port=port,
            log_config=None,  # triage's logging (with its masking filter) stays in charge
            access_log=False,  # request lines are not needed and URLs are kept free of data anyway
            lifespan="off",
            server_header=False,
            proxy_headers=True,
        )
        self.server = _Server(config)
        self.host = host
        self.port = port
        self._task: asyncio.Task[None]

    async def start(self) -> None:
        """Listen (CannotListen when the address cannot be had); serving goes on in a task."""
        self._task = asyncio.create_task(self._serve(), name="web")
        while not self.server.started:
            if self._task.done():
                await self._task
                raise CannotListen(
                    f"the staff web UI cannot listen on {self.host}:{self.port}: stop what uses it or "
                    "choose another address with --web HOST:PORT or TRIAGE_WEB_LISTEN"
                )
            await asyncio.sleep(0.02)

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn's answer to an address in use
            return

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish."""
        self.server.should_exit = True
        await self._task
