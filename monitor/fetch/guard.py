"""The private-network guard (SSRF): the one place that decides which addresses we may dial.

An outlet URL is configuration that a monitoring team edits, and a redirect is chosen by a remote
server; neither may make the crawler talk to the intranet, the loopback interface or a cloud
metadata endpoint. The check sits in the network backend, so it vets the address actually
dialled, on every connection and every redirect hop, after DNS resolution (no rebinding gap).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream
from httpcore._backends.auto import AutoBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Shared address space for carrier-grade NAT (RFC 6598) is not flagged by is_private.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class BlockedAddressError(httpcore.ConnectError):
    """The host resolves to an address the guard refuses. A ConnectError so httpx maps it."""


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 64:ff9b::10.0.0.1 would reach the IPv4 address inside.
        mapped = address.ipv4_mapped or _nat64_embedded(address)
        if mapped is not None:
            return is_public(mapped)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in _CGNAT
    )


def _nat64_embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressPolicy:
    """Public addresses are allowed; private ones only inside the configured allow-list."""

    def __init__(self, allow_networks: Iterable[str] = ()) -> None:
        self.allowed: list[IPNetwork] = [
            ipaddress.ip_network(network, strict=False) for network in allow_networks
        ]

    def permits(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in network for network in self.allowed)

    def refusal(self, host: str, address: IPAddress) -> str:
        return (
            f"refused to connect to {host} ({address}): private, loopback or link-local address; "
            "allow it with FENGHUO_ALLOW_NETWORKS if this outlet is really on your network"
        )

    async def vet(self, host: str, port: int) -> list[str]:
        """Resolve host and return the addresses we may dial, or raise BlockedAddressError."""
        addresses = await resolve(host, port)
        for address in addresses:
            # One bad answer refuses the host: round-robin DNS could hand it out next time.
            if not self.permits(address):
                raise BlockedAddressError(self.refusal(host, address))
        return [str(address) for address in addresses]


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror}") from error
    seen: dict[str, IPAddress] = {}
    for *_, sockaddr in infos:
        seen.setdefault(sockaddr[0], ipaddress.ip_address(sockaddr[0].split("%")[0]))
    return list(seen.values())


class GuardedBackend(AsyncNetworkBackend):
    """httpcore network backend that dials only vetted addresses."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options=None,
    ) -> AsyncNetworkStream:
        addresses = await self.policy.vet(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                # TLS still verifies against the URL's host name: httpcore passes it as SNI.
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args, **kwargs) -> AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
