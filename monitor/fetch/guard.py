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

# Ranges we refuse although Python's ``is_global`` (3.11) calls them global. The IANA special-
# purpose registries are the reference; anything not meant to be reached across the internet is
# out: a cloud metadata service answers on 192.0.0.192 at some providers.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",  # IETF protocol assignments (is_global allows .9, .10 and, before 3.12.4, all)
        "100.64.0.0/10",  # shared address space for carrier-grade NAT (RFC 6598)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
        "fec0::/10",  # deprecated site-local (RFC 3879): still routed inside some networks
        "::/96",  # deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment-routing SIDs (RFC 9602)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(httpcore.ConnectError):
    """The host resolves to an address the guard refuses. A ConnectError so httpx maps it."""


def is_public(address: IPAddress) -> bool:
    """True only for addresses that are globally reachable (deny by default).

    IPv6 addresses that carry an IPv4 address the network would deliver to (IPv4-mapped, NAT64,
    6to4, Teredo) are judged by that IPv4 address too: 2002:a00:1:: reaches 10.0.0.1 through any
    6to4 relay, 64:ff9b::a9fe:a9fe the metadata service through the NAT64 gateway.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.teredo is not None and not all(is_public(inner) for inner in address.teredo):
            return False
    return (
        address.is_global
        and not address.is_multicast  # is_global says yes to 224.0.0.0/4 and ff00::/8
        and not address.is_reserved
        and not any(address in network for network in _NOT_GLOBAL)
    )


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
            f"refused to connect to {host} ({address}): not a globally reachable address "
            "(private, loopback, link-local, metadata or other special-purpose range); "
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
