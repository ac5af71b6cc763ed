"""POSTing to a URL someone typed in, without becoming a proxy into the private network (SSRF).

`check_url` refuses what is not http(s), carries credentials or names no host; `resolve` turns the host into
the addresses it resolves to and refuses any that is not globally routable — loopback, link-local (cloud
metadata at 169.254.169.254 or fd00:ec2::254), private, shared (100.64/10, Alibaba's metadata), reserved,
multicast, unspecified, IPv4 hidden in IPv6 — unless the host is named in `allowed_hosts` (staff's explicit
exception). `post` connects to the very address it checked (pinned: a DNS answer that changes between the check
and the connection cannot redirect it), sends the Host header and TLS server name of the URL, follows no
redirect, uses short timeouts and reads at most `excerpt_bytes` of the answer.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

MAX_URL = 2000


class Refused(ValueError):
    """The URL or the address it resolves to may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL, lower case, IPv6 without brackets
    port: int
    path: str  # path and query, at least "/"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    address: str


def check_url(url: str) -> Target:
    """The parts of an http(s) URL; Refused for anything else."""
    if not isinstance(url, str) or not url.strip():
        raise Refused("The URL is empty.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise Refused(f"The URL is {len(url)} characters long; the limit is {MAX_URL}.")
    if any(ord(c) < 33 or c == "\\" for c in url):
        raise Refused("The URL holds spaces, control characters or backslashes.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"The URL cannot be parsed: {exc}.") from None
    if parts.scheme not in {"http", "https"}:
        raise Refused("The URL must start with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL may not carry a user name or password; use the subscription's secret.")
    if not parts.hostname:
        raise Refused("The URL names no host.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname.lower().rstrip("."), port or default, path)


def forbidden_reason(address: str) -> str | None:
    """Why a request may not go to this IP address, or None when it is globally routable."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return f"{address} embeds an IPv4 address"
    for test, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata lives there)"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    ):
        if test:
            return f"{address} is a {what} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def is_allowed_host(host: str, allowed_hosts: Iterable[str]) -> bool:
    return host.lower().rstrip(".") in {h.strip().lower().rstrip(".").strip("[]") for h in allowed_hosts}


def resolve(target: Target, allowed_hosts: Iterable[str]) -> str:
    """The address to connect to: the host's first address, every one of them checked; Refused when the
    host does not resolve or any address is forbidden (unless staff allowed the host)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise Refused(f"The host {target.host} does not resolve ({exc}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused(f"The host {target.host} does not resolve.")
    if not is_allowed_host(target.host, allowed_hosts):
        for address in addresses:
            reason = forbidden_reason(address)
            if reason:
                raise Refused(
                    f"{target.host} resolves to {reason}: deliveries there are refused unless staff allow "
                    "the host (OUTBOUND_ALLOWED_HOSTS)."
                )
    return addresses[0]


def check(url: str, allowed_hosts: Iterable[str]) -> tuple[Target, str]:
    """check_url then resolve: the target and the (checked) address to pin."""
    target = check_url(url)
    return target, resolve(target, allowed_hosts)


def _pool(target: Target, address: str, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        # Connect to the checked address; the certificate is still checked against the URL's host name.
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(
    target: Target,
    address: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_seconds: float,
    excerpt_bytes: int,
) -> Answer:
    """POST `body` to the pinned address; the status and the first `excerpt_bytes` of the answer (decoded,
    replacement characters for bad bytes). Connection errors and timeouts raise urllib3's HTTPError."""
    timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
    deadline = time.monotonic() + 2 * timeout_seconds  # a trickling answer cannot hold the worker longer
    with _pool(target, address, timeout) as pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": _host_header(target)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            chunks: list[bytes] = []
            size = 0
            while size < excerpt_bytes and time.monotonic() < deadline:
                chunk = response.read(min(1024, excerpt_bytes - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            response.release_conn()
            response.close()
    excerpt = b"".join(chunks)[:excerpt_bytes].decode("utf-8", "replace")
    return Answer(status=response.status, excerpt=excerpt, address=address)
