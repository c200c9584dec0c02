"""SSRF guard: every URL the aggregator fetches is resolved and checked *before* any connection.

A host is refused when any of its addresses is loopback, private, link-local (cloud metadata
169.254.169.254 included), multicast, reserved, unspecified or otherwise not globally routable —
unless the operator explicitly allows a network (tests and the local demo allow 127.0.0.0/8).
The request then goes to the checked address itself (no second DNS lookup that could rebind).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ogp_federation.core.errors import OGPError

__all__ = ["BlockedAddressError", "NetworkGuard", "ResolvedTarget"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class BlockedAddressError(OGPError):
    """The URL points at an address the aggregator must not reach."""

    default_code = "ssrf.blocked"


class UnresolvableError(OGPError):
    """The host name does not resolve."""

    default_code = "dns.unresolvable"


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    address: IPAddress

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the name (an IPv6 literal in brackets), with the port unless the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == {"http": 80, "https": 443}[self.scheme] else f"{host}:{self.port}"

    @property
    def url_host(self) -> str:
        """The address as it goes in a URL's host (IPv6 in brackets)."""
        return f"[{self.address}]" if self.address.version == 6 else str(self.address)


class NetworkGuard:
    """Resolves hosts and refuses the ones that are not public, except in allowed networks."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in allowed)

    def is_allowed(self, address: IPAddress) -> bool:
        """Whether the aggregator may connect to ``address``."""
        if any(address in network for network in self.allowed):
            return True
        if isinstance(address, ipaddress.IPv6Address):
            # IPv4 carried inside IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 address it reaches.
            inner = [a for a in (address.ipv4_mapped, address.sixtofour, *(address.teredo or ())) if a is not None]
            if inner:
                return all(self.is_allowed(a) for a in inner)
        if any(address in network for network in _METADATA):
            return False
        return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)

    async def check(self, url: str) -> ResolvedTarget:
        """Parse, resolve and check ``url``; raise before anything is sent anywhere."""
        try:
            parts = urlsplit(url)
            explicit_port = parts.port
        except ValueError as exc:  # a port out of range or not a number, a broken IPv6 literal
            raise BlockedAddressError(
                f"URL inválida: {url[:200]!r}", f"invalid URL: {url[:200]!r}", code="url.invalid"
            ) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = repr(url[:200])
            raise BlockedAddressError(f"URL no permitida: {shown}", f"URL not allowed: {shown}", code="url.invalid")
        if parts.username or parts.password:
            raise BlockedAddressError("URL con credenciales", "URL with credentials", code="url.invalid")
        port = explicit_port or (443 if parts.scheme == "https" else 80)
        try:  # internationalised names (ñ, tildes) travel as punycode, in DNS, Host and SNI alike
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise BlockedAddressError(
                f"nombre de servidor inválido: {parts.hostname!r}",
                f"invalid host name: {parts.hostname!r}",
                code="url.invalid",
            ) from exc
        addresses = await self._resolve(host, port)
        blocked = [a for a in addresses if not self.is_allowed(a)]
        if blocked:
            raise BlockedAddressError(
                f"{parts.hostname} apunta a una dirección no pública ({blocked[0]}); si el nodo está en una red "
                "suya, agréguela al ajuste allowed_networks (OGP_AGG_ALLOWED_NETWORKS)",
                f"{parts.hostname} points at a non-public address ({blocked[0]}); if the node is in a network of "
                "yours, add it to the allowed_networks setting (OGP_AGG_ALLOWED_NETWORKS)",
            )
        return ResolvedTarget(parts.scheme, host, port, addresses[0])

    @staticmethod
    async def _resolve(host: str, port: int) -> Sequence[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvableError(
                f"{host} no existe (DNS)", f"{host} does not resolve (DNS)", detail=str(exc)
            ) from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise UnresolvableError(f"{host} no existe (DNS)", f"{host} does not resolve (DNS)")
        return addresses
