"""A session's aiosmtpd set-up without aiosmtpd's per-connection introspection.

``SMTP.__init__`` (aiosmtpd 1.4.6) finds its command methods, AUTH mechanisms and handler hooks
with ``inspect.getmembers`` and ``dir`` on every connection: over a millisecond of CPU, most of
a message's cost when each message comes on its own connection. :func:`init_smtp` sets the
same attributes from tables built once per class and per handler. ``limits`` is the session's
:class:`triage.ingress.session.SessionLimits`.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import weakref
from typing import Any

from aiosmtpd.smtp import SMTP, _AuthMechAttr, login_always_fail

from triage.errors import ConfigError

_HOOKS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_CLASS_TABLES: dict[type, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {}


def _tables(cls: type) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(command, method name) of every smtp_* and (mechanism, method name) of every auth_*."""
    tables = _CLASS_TABLES.get(cls)
    if tables is None:
        commands = tuple((name.replace("smtp_", ""), name) for name in dir(cls) if name.startswith("smtp_"))
        mechanisms = tuple(
            (getattr(func, "__auth_mechanism_name__", name.replace("auth_", "").replace("__", "-")), name)
            for name, func in inspect.getmembers(cls)
            if name.startswith("auth_")
        )
        tables = _CLASS_TABLES[cls] = (commands, mechanisms)
    return tables


def init_smtp(session: Any, handler: Any, *, hostname: str, ident: str, limits: Any) -> None:
    """What ``SMTP.__init__`` (aiosmtpd 1.4.6) sets up, for triage's arguments."""
    session.__ident__ = ident
    session.loop = asyncio.get_running_loop()
    asyncio.StreamReaderProtocol.__init__(
        session,
        asyncio.StreamReader(loop=session.loop, limit=session.line_length_limit),
        client_connected_cb=session._cb_client_connected,
        loop=session.loop,
    )
    session.event_handler = handler
    session.data_size_limit = limits.data_size_limit
    session.enable_SMTPUTF8 = True
    session._decode_data = False
    # aiosmtpd keeps these limits in one class-level dict that every EHLO enlarges: each
    # session gets its own.
    session.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
    session.hostname = hostname
    session.tls_context = limits.tls_context
    session.require_starttls = limits.tls_context and limits.tls_required
    session._timeout_duration = limits.command_timeout
    session._timeout_handle = None
    session._tls_handshake_okay = True
    session._tls_protocol = None
    session._original_transport = None
    session.session = None
    session.envelope = None
    session.transport = None
    session._handler_coroutine = None
    session._auth_require_tls = True
    session._proxy_timeout = None
    session._authenticator = None
    session._auth_callback = login_always_fail
    session._auth_required = False
    commands, mechanisms = _tables(type(session))
    session._auth_methods = {
        mechanism: _AuthMechAttr(getattr(session, name), True) for mechanism, name in mechanisms
    }
    hooks = _HOOKS.get(handler)
    if hooks is None:
        hooks = _HOOKS[handler] = {
            name.replace("handle_", ""): name for name in dir(handler) if name.startswith("handle_")
        }
    if "EHLO" in hooks:
        raise ConfigError("the ingress handler must not define handle_EHLO")
    session._handle_hooks = {command: getattr(handler, name) for command, name in hooks.items()}
    session._ehlo_hook_ver = None
    session._smtp_methods = {command: getattr(session, name) for command, name in commands}
    session._enforce_call_limit = False
