"""Where a webhook may be delivered (pure, but for the resolver it is given): server-side
request forgery is refused twice.

- When an endpoint is registered: an `https://` URL with a host, no user name or password, no
  fragment. `http://` only to a loopback host and only in demo mode (PARS_DEMO_MODE=1), for
  trying webhooks on one machine.
- At every delivery (`GuardedBackend` in delivery.py): the host is resolved then and each address
  it resolves to must be a public one. Private, loopback, link-local (the cloud metadata service),
  multicast, reserved, unspecified and shared (100.64/10) addresses are refused unless they are in
  the operator's allow list (WEBHOOK_ALLOWED_NETWORKS, CIDRs); loopback is also allowed in demo
  mode. The connection is made to the address that was checked, so a name that resolves to
  another address a moment later (DNS rebinding) changes nothing. Redirects are never followed."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL = 2000
LOOPBACK_NAMES = ("localhost", "localhost.")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public, not flagged private


class RefusedAddress(ValueError):
    """A URL or address that webhooks are not delivered to; the message says why."""


def check_url(url: str, demo_mode: bool) -> str:
    """The URL as stored, or RefusedAddress with a message for the provider."""
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise RefusedAddress(f"Give the endpoint's URL, at most {MAX_URL} characters.")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise RefusedAddress("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a port that is not a number, or out of range, raises here
    except ValueError as exc:
        raise RefusedAddress(f"The URL cannot be read: {exc}.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise RefusedAddress("The URL must start with https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("The URL may not hold a user name or password: the signature authenticates PARS.")
    if parts.fragment:
        raise RefusedAddress("The URL may not have a #fragment.")
    if parts.scheme == "http" and not (demo_mode and is_loopback_host(host)):
        raise RefusedAddress("The URL must use https:// (http:// is allowed only to this machine, in demo mode).")
    literal = ip_literal(host)
    if literal is not None and literal.version == 6 and literal.ipv4_mapped is not None:
        raise RefusedAddress("Write an IPv4 address as such, not IPv4-mapped IPv6.")
    return url


def is_loopback_host(host: str) -> bool:
    literal = ip_literal(host)
    return host.lower() in LOOPBACK_NAMES if literal is None else literal.is_loopback


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """The operator's allow list: CIDRs (a single address is its own /32 or /128)."""
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def refusal(address: IPAddress, allowed: list[IPNetwork], demo_mode: bool) -> str | None:
    """Why a delivery may not connect to this address, or None when it may."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed if network.version == address.version):
        return None
    if address.is_loopback:
        return None if demo_mode else "a loopback address"
    for flag, what in (("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_unspecified", "an unspecified address"), ("is_reserved", "a reserved address"),
                       ("is_private", "a private address")):
        if getattr(address, flag):
            return what
    if address.version == 4 and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "a non-public address"
    return None
