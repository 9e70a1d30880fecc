"""Egress guard: which webhook URLs Pantau may connect to, and at which address.

The URL's spelling proves nothing (`http://2130706433/` is 127.0.0.1), and DNS may
answer differently at delivery than at registration, so every attempt resolves the
host once, checks every address, and connects to the checked address itself while
keeping the original Host header and TLS server name (see `transport.py`).
An operator allow-list of CIDRs is consulted before the deny list.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]
"""Host name -> the IP addresses it resolves to (raise `HostUnresolvable` if none)."""

# Special-purpose ranges (IANA registries), as denied by Svix's and Stripe smokescreen's egress
# filters. `ipaddress`'s is_private/is_global flags miss several of them (CGNAT, multicast,
# 6to4, NAT64), hence the explicit list.
_DENIED_IPV4 = """
    0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.0.0/24
    192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24
    224.0.0.0/4 240.0.0.0/4
"""
_DENIED_IPV6 = """
    ::/128 ::1/128 ::/96 64:ff9b::/96 64:ff9b:1::/48 100::/64 2001::/32 2001:db8::/32 2002::/16
    3fff::/20 5f00::/16 fc00::/7 fe80::/10 ff00::/8
"""
DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr) for cidr in (_DENIED_IPV4 + _DENIED_IPV6).split()
)

_LABELS = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class UrlRefused(ValueError):
    """The URL is malformed or leads to an address Pantau must not connect to."""


class HostUnresolvable(OSError):
    """DNS gave no address for the host (may be temporary)."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `ip`, present `host` as Host header and SNI."""

    scheme: str
    host: str
    port: int
    ip: IPAddress
    path: str
    host_is_ip: bool = False

    @property
    def server_name(self) -> str | None:
        """The TLS server name (SNI and certificate check); None for IP literals."""
        return None if self.host_is_ip else self.host

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    @property
    def connect_url(self) -> str:
        netloc = f"[{self.ip}]" if self.ip.version == 6 else str(self.ip)
        return f"{self.scheme}://{netloc}:{self.port}{self.path}"


def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for `host`."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _parse_numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`); None for names."""
    parts = host.split(".")
    if not _NUMERIC_LABEL.match(parts[-1]):
        return None
    if len(parts) > 4:
        raise UrlRefused(f"malformed numeric host {host!r}")
    numbers = []
    for part in parts:
        try:
            if part.startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError as exc:
            raise UrlRefused(f"malformed numeric host {host!r}") from exc
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UrlRefused(f"numeric host {host!r} is out of range")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def check_ip(ip: str | IPAddress, allow: Sequence[IPNetwork] = ()) -> IPAddress:
    """The address if Pantau may connect to it; `UrlRefused` otherwise.

    IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address it wraps.
    """
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise UrlRefused(f"{ip!r} is not an IP address") from exc
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
        raise UrlRefused(f"{addr} carries a zone id")
    effective = (addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None) or addr
    if any(candidate in net for candidate in {addr, effective} for net in allow):
        return addr
    for net in DENIED_NETWORKS:
        if effective in net:
            raise UrlRefused(f"address {effective} is in the blocked range {net}")
    return addr


def _split_url(url: str) -> tuple[str, str, int, str]:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UrlRefused("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("URL scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("credentials in the URL are not supported")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve_target(
    url: str, allow: Sequence[IPNetwork] = (), resolver: Resolver = system_resolver
) -> Target:
    """Parse `url`, resolve its host once and check every address.

    Raises `UrlRefused` (policy; permanent for this answer) or `HostUnresolvable` (DNS).
    All resolved addresses must pass, so a mixed answer cannot smuggle in a blocked one.
    """
    scheme, host, port, path = _split_url(url)
    if ":" in host:
        candidates: Sequence[str | IPAddress] = [host]
    elif (numeric := _parse_numeric_ipv4(host)) is not None:
        candidates = [numeric]
        host = str(numeric)
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UrlRefused(f"invalid host name {host!r}") from exc
        if not _LABELS.match(host):
            raise UrlRefused(f"invalid host name {host!r}")
        candidates = list(resolver(host))
        if not candidates:
            raise HostUnresolvable(f"{host!r} resolved to no address")
    checked = [check_ip(candidate, allow) for candidate in candidates]
    ip = min(checked, key=lambda a: a.version)  # IPv4 first: not every host routes IPv6
    literal = ":" in host or host == str(ip)
    return Target(
        scheme=scheme,
        host=f"[{ip}]" if ":" in host else host,
        port=port,
        ip=ip,
        path=path,
        host_is_ip=literal,
    )
