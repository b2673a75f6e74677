"""Callbacks go only to the outside: no private, loopback, link-local, metadata or other
non-global address, checked when a URL is registered and again, after DNS resolution, before
every delivery (a name may resolve elsewhere later). The delivery then connects to the very
address that was checked (``pinned_post``: the name stays in the Host header and the TLS SNI),
so a DNS answer that changes between the check and the connection (rebinding) can't send it
to 127.0.0.1.

``allow_private`` (the setting ``callbacks_allow_private_targets``, off by default) lets the
test suite deliver to a receiver on 127.0.0.1; production never sets it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

from proctor.domain.errors import InvalidInput

# names that are never a platform's public endpoint, whatever DNS says
_INTERNAL_NAMES = ("localhost", "metadata.google.internal", "metadata")
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
Resolver = Callable[[str, int], list[str]]


class RefusedTarget(ValueError):
    """The URL cannot be parsed, or points at an address callbacks must never reach."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    # is_global excludes private, loopback, link-local (169.254.169.254 metadata), CGNAT,
    # unspecified, reserved, documentation and multicast ranges
    return addr.is_global and not addr.is_multicast


def parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise RefusedTarget(f"the URL cannot be parsed ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise RefusedTarget("the URL must be http:// or https://")
    if not parsed.host:
        raise RefusedTarget("the URL has no host")
    return parsed


def check_target(url: str, *, allow_private: bool = False, resolve: bool = True,
                 resolver: Resolver = _resolve) -> list[str]:
    """The addresses ``url`` reaches, all public; RefusedTarget otherwise.

    With ``resolve`` False (registration) names are not looked up (DNS may say otherwise by
    delivery time, which checks again); an IP literal or an internal name is still refused.
    ``allow_private`` (tests only) resolves without refusing."""
    parsed = parse(url)
    host = parsed.host.rstrip(".").lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if allow_private and not resolve:
        return []
    if not allow_private and (host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES)):
        raise RefusedTarget(f"{host} is an internal name; callbacks go only to public addresses")
    try:
        literal = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        literal = []
    if not literal and not resolve:
        return []
    try:
        addresses = literal or resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise RefusedTarget(f"{host} does not resolve ({exc})") from None
    refused = [] if allow_private else [a for a in addresses if not public_address(a)]
    if refused or not addresses:
        raise RefusedTarget(f"{host} resolves to {', '.join(refused) or 'nothing'}: callbacks "
                            "go only to public addresses (not private, loopback, link-local or "
                            "metadata)")
    return addresses


def check_registration(url: str | None, *, allow_private: bool) -> None:
    """422 naming the problem for a callback URL that can never be delivered to."""
    if url is None:
        return
    try:
        check_target(url, allow_private=allow_private, resolve=False)
    except RefusedTarget as exc:
        raise InvalidInput(f"callback_url: {exc}", field="callback_url") from None


def pinned_post(url: str, addresses: list[str], *, content: bytes, headers: dict[str, str],
                timeout: float) -> httpx.Response:
    """POST to ``url`` connecting only to ``addresses`` (those check_target approved, tried in
    turn), never resolving the name again; the name is kept in the Host header and, over https,
    as the SNI server name the certificate is checked against."""
    parsed = parse(url)
    if not addresses:
        raise RefusedTarget(f"{parsed.host} resolves to nothing")
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    sent = {**headers, "host": parsed.netloc.decode("ascii")}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        def post(address: str) -> httpx.Response:
            return client.post(parsed.copy_with(host=address.split("%", 1)[0]), content=content,
                               headers=sent, extensions=extensions)

        for address in addresses[:-1]:
            try:
                return post(address)
            except httpx.ConnectError:
                continue  # the next address the name had when it was checked
        return post(addresses[-1])
