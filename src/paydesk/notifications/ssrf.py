"""Which addresses a shop webhook may reach: public ones, and the networks the operator
allows. Checked when an endpoint is registered and again right before every delivery,
because the name behind a URL can point somewhere else tomorrow (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAMES = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
# The shapes inet_aton accepts besides the dotted quad: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


class UrlNotAllowed(ValueError):
    """The URL is malformed, or names or resolves to an address webhooks may not reach."""

    def __init__(self, message: str, *, code: str = "url_not_allowed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Resolver(Protocol):
    """Turns a host name into its IP addresses (as text); an empty list if it has none."""

    async def resolve(self, host: str) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), off the event loop."""

    async def resolve(self, host: str) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            # No such name, no DNS, or a name IDNA cannot encode: nothing to connect to.
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class StaticResolver:
    """A fixed table of names and their addresses: for tests and offline demos. Change
    `answers` to make a name point elsewhere."""

    answers: dict[str, list[str]]

    async def resolve(self, host: str) -> list[str]:
        return list(self.answers.get(host.lower().rstrip("."), []))


@dataclass(frozen=True)
class Target:
    """A vetted URL: its host as written and the addresses it may be reached at."""

    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def check_url_shape(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL without credentials, or UrlNotAllowed."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(
            f"The URL is longer than {MAX_URL_LENGTH} characters.", code="url_invalid"
        )
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UrlNotAllowed(
            "The URL contains whitespace or control characters.", code="url_invalid"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlNotAllowed("The URL cannot be parsed.", code="url_invalid") from None
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed("The URL must start with https:// or http://.", code="url_invalid")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("The URL may not contain a user name or password.", code="url_invalid")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlNotAllowed("The URL has no host.", code="url_invalid")
    return host, port or (443 if parts.scheme == "https" else 80)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, or None for a name. Legacy IPv4 spellings
    (decimal, hex, octal, shortened) are refused: they only ever serve to hide an address."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        raise UrlNotAllowed(
            f"{host!r} is an IP address in a legacy spelling, which is not allowed; "
            "write it as a dotted quad or use a host name."
        )
    return None


def is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


class AddressPolicy:
    """Public unicast addresses pass; loopback, private, link-local, unique-local,
    multicast, unspecified, reserved, shared (CGNAT) and documentation ranges do not,
    nor do IPv6 forms that embed such an IPv4 address — unless an allowed network
    contains them."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allowed_networks
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why the address may not be reached, or None if it may."""
        candidates = _embedded(address)
        if any(a in n for a in candidates for n in self.allowed if a.version == n.version):
            return None
        for candidate in candidates:
            reason = _forbidden(candidate)
            if reason is not None:
                return f"{address} is {reason}"
        return None

    def check(self, host: str, addresses: Sequence[IPAddress]) -> None:
        if not addresses:
            raise UrlNotAllowed(
                f"{host!r} does not resolve to any address.", code="url_unresolvable"
            )
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise UrlNotAllowed(
                    f"Webhooks may not be sent to {host!r}: {reason}, which is not allowed."
                )


class UrlGuard:
    """Vets URLs: their shape, then every address their host resolves to."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    @classmethod
    def of(cls, allowed_networks: Iterable[str], resolver: Resolver | None = None) -> UrlGuard:
        return cls(AddressPolicy(allowed_networks), resolver or SystemResolver())

    async def addresses(self, host: str) -> tuple[IPAddress, ...]:
        """Every address of `host`, each one allowed, or UrlNotAllowed."""
        literal = ip_literal(host)
        if literal is not None:
            found: tuple[IPAddress, ...] = (literal,)
        elif is_local_name(host):
            found = _LOCAL_NAMES
        else:
            found = tuple(_parse_answers(await self.resolver.resolve(host)))
        self.policy.check(host, found)
        return found

    async def vet(self, url: str) -> Target:
        host, port = check_url_shape(url)
        return Target(url=url, host=host, port=port, addresses=await self.addresses(host))


def _parse_answers(answers: Iterable[str]) -> Iterable[IPAddress]:
    for answer in answers:
        # A scoped IPv6 answer (fe80::1%eth0) is link-local anyway; keep the address part.
        yield ipaddress.ip_address(answer.split("%", 1)[0])


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address, and any IPv4 address an IPv6 transition form carries to the same host."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _forbidden(address: IPAddress) -> str | None:
    checks: Mapping[str, bool] = {
        "unspecified": address.is_unspecified,
        "loopback": address.is_loopback,
        "link-local": address.is_link_local,
        "multicast": address.is_multicast,
        "shared address space (CGNAT)": isinstance(address, ipaddress.IPv4Address)
        and address in _CGNAT,
        "private": address.is_private,
        "reserved": address.is_reserved,
        "not globally routable": not address.is_global,
    }
    return next((name for name, hit in checks.items() if hit), None)
