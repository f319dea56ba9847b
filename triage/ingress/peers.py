"""Who may connect: the global cap, a cap per peer, trusted peers, and the greeting test's memory.

One peer (an IPv4 address, or an IPv6 /64: one subscriber's share) may hold at most
``per_peer`` sessions, so a single client cannot fill the global cap and lock everyone else out.
Trusted peers (our front MTA, configured as addresses or networks) are not counted against
either cap and skip the greeting delay: they are our own infrastructure and limit themselves.

The greeting delay (security.md §1 item 7, postscreen's "pregreet" test): an untrusted peer
waits a moment before our ``220``; a client that talks in that moment is dropped with ``554``.
A peer that waited politely is remembered for ``pass_seconds`` (postscreen's
``postscreen_greet_ttl``), so a real MTA pays the delay once, not on every connection.
"""

from __future__ import annotations

import collections
import ipaddress
import time
from collections.abc import Callable, Iterable
from typing import Final

from triage.errors import ConfigError

IPV6_PREFIX: Final = 64
_MAX_REMEMBERED: Final = 100_000  # peers that passed the greeting test; the oldest are forgotten

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str], what: str = "trusted peer") -> tuple[Network, ...]:
    """``127.0.0.1``, ``10.0.0.0/8``, ``2001:db8::/32``: each as a network; a clear error otherwise."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(f"{what} {value!r} is not an IP address or network") from exc
    return tuple(networks)


def peer_host(peer: object) -> str:
    """The address part of aiosmtpd's peer (a (host, port, ...) tuple); "" when unknown."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return ""


class PeerPolicy:
    """Counts live sessions per peer and decides admissions; remembers polite greeters."""

    def __init__(
        self,
        *,
        max_connections: int,
        per_peer: int,
        trusted: Iterable[Network] = (),
        greet_delay: float = 0.0,
        pass_seconds: float = 86400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_connections < 1 or per_peer < 1:
            raise ConfigError("connection caps must be at least 1")
        self.max_connections = max_connections
        self.per_peer = per_peer
        self.trusted = tuple(trusted)
        self.greet_delay = greet_delay
        self.pass_seconds = pass_seconds
        self._clock = clock
        self._counts: collections.Counter[str] = collections.Counter()
        self._untrusted = 0
        self._passed: collections.OrderedDict[str, float] = collections.OrderedDict()

    def key(self, host: str) -> str:
        """The unit a per-peer cap counts: the IPv4 address, or the IPv6 address's /64."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
        return str(address)

    def is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)

    def admit(self, host: str) -> str | None:
        """Count a new session of ``host``: None when admitted, else why not ("global"/"peer")."""
        if self.is_trusted(host):
            return None
        if self._untrusted >= self.max_connections:
            return "global"
        key = self.key(host)
        if self._counts[key] >= self.per_peer:
            return "peer"
        self._counts[key] += 1
        self._untrusted += 1
        return None

    def release(self, host: str) -> None:
        """A session admitted by :meth:`admit` ended."""
        if self.is_trusted(host):
            return
        key = self.key(host)
        self._counts[key] -= 1
        if self._counts[key] <= 0:
            del self._counts[key]
        self._untrusted -= 1

    def sessions_of(self, host: str) -> int:
        return self._counts.get(self.key(host), 0)

    def delay_for(self, host: str) -> float:
        """How long ``host`` waits for our greeting: 0 when trusted or recently polite."""
        if self.greet_delay <= 0 or self.is_trusted(host):
            return 0.0
        since = self._passed.get(self.key(host))
        if since is not None and self._clock() - since < self.pass_seconds:
            return 0.0
        return self.greet_delay

    def passed(self, host: str) -> None:
        """``host`` waited for the greeting: skip its delay for a while."""
        key = self.key(host)
        self._passed[key] = self._clock()
        self._passed.move_to_end(key)
        while len(self._passed) > _MAX_REMEMBERED:
            self._passed.popitem(last=False)
