"""Server-side request forgery (SSRF) protection: refuse to fetch from addresses that are not public.

A fetcher that takes URLs from users (a served pipeline, an agent's tool) must not become a way into the
network it runs in: the cloud metadata service at 169.254.169.254, a database on localhost, an admin panel on
10.0.0.5. Every URL — and every redirect target — is checked before a request is sent: its host is resolved
and refused when any address it resolves to is not globally routable (loopback, private, link-local, shared,
reserved, multicast, unspecified; IPv4-mapped IPv6 addresses are unwrapped). After connecting, the address
actually connected to is checked again before the body is read, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot leak data.

Hosts and networks an operator trusts are opened with ``allowed_hosts``: host names (``"localhost"``,
``"wiki.internal"``), addresses (``"127.0.0.1"``) or networks in CIDR form (``"10.0.0.0/8"``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from haybale.errors import ComponentError, UsageError

__all__ = ["AddressGuard", "SSRFRefusedError", "is_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SSRFRefusedError(UsageError):
    """A URL's host resolves to an address that is not public and not allowed; nothing was fetched from it."""


def _unwrapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is globally routable (and not multicast)."""
    address = _unwrapped(address)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AddressGuard:
    """Which hosts may be fetched: public addresses, plus the allowed host names and networks.

    Attributes:
        hosts: host names allowed whatever they resolve to (lower case).
        networks: networks whose addresses are allowed.
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_allowed(cls, allowed: Iterable[str] | None, where: str) -> AddressGuard:
        """Parse ``allowed_hosts`` entries (host names, addresses, CIDR networks).

        Raises:
            ComponentError: an entry is empty or not a string.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in allowed or ():
            if not isinstance(entry, str) or not entry.strip():
                raise ComponentError(
                    f"{where}: allowed_hosts entries must be host names, addresses or CIDR networks such as "
                    f"'10.0.0.0/8', got {entry!r}."
                )
            text = entry.strip().lower().strip("[]")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text)
        return cls(frozenset(hosts), tuple(networks))

    def _allowed_address(self, address: IPAddress) -> bool:
        address = _unwrapped(address)
        return is_public(address) or any(address in network for network in self.networks)

    def _refusal(self, host: str, address: IPAddress) -> SSRFRefusedError:
        return SSRFRefusedError(
            f"refused to fetch from {host!r}: it resolves to {address}, which is not a public address "
            "(loopback, private, link-local or reserved networks are blocked against server-side request "
            f"forgery). If this host is trusted, allow it with allowed_hosts=['{host}'] or its network."
        )

    def check_addresses(self, host: str, addresses: Iterable[str]) -> None:
        """Refuse ``host`` unless it is an allowed name or every address it resolved to is allowed.

        Raises:
            SSRFRefusedError: naming the host and the address.
        """
        if host.lower().strip("[]") in self.hosts:
            return
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone index
            if not self._allowed_address(address):
                raise self._refusal(host, address)

    def check_host(self, host: str, port: int | None) -> None:
        """Resolve ``host`` (blocking) and refuse it unless allowed.

        Raises:
            SSRFRefusedError: the host resolves to an address that is not allowed.
        """
        if host.lower().strip("[]") in self.hosts:
            return
        try:
            infos = socket.getaddrinfo(host.strip("[]"), port or 80, type=socket.SOCK_STREAM)
        except OSError:
            return  # unresolvable: the request itself fails with a clear connection error
        self.check_addresses(host, [str(info[4][0]) for info in infos])

    async def check_host_async(self, host: str, port: int | None) -> None:
        """:meth:`check_host` with the event loop's resolver."""
        import asyncio

        if host.lower().strip("[]") in self.hosts:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host.strip("[]"), port or 80, type=socket.SOCK_STREAM
            )
        except OSError:
            return
        self.check_addresses(host, [str(info[4][0]) for info in infos])

    def check_peer(self, host: str, response: Any) -> None:
        """Refuse a response whose connection went to an address that is not allowed (DNS rebinding).

        Raises:
            SSRFRefusedError: the connected address is not allowed.
        """
        if host.lower().strip("[]") in self.hosts:
            return
        stream = getattr(response, "extensions", {}).get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            self.check_addresses(host, [str(peer[0])])
