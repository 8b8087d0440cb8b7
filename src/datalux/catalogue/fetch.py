"""Fetching a remote document without server-side request forgery (SSRF).

:func:`fetch_url` is the only way the harvester reaches the network:

* only ``http`` and ``https`` URLs, at every hop;
* the host is resolved once per hop and **every** address it resolves to is checked: a
  loopback, private, shared (CGNAT), link-local, multicast, unspecified or reserved address
  (IPv4 or IPv6, IPv4 inside IPv6 included: mapped, compatible, 6to4, Teredo, NAT64) is
  refused unless the operator listed the host, the address or its network in
  ``DATALUX_HARVEST_ALLOWED_HOSTS``;
* the connection goes to the very address that was checked (the name is not resolved a second
  time, so DNS rebinding cannot swap it), with the URL's host in the ``Host`` header and as
  the TLS server name (SNI and certificate check); the peer address is checked once more
  after connecting;
* redirects are followed here, never by a library: at most ``MAX_REDIRECTS`` hops, each one
  checked like the first (scheme, address, and the caller's own ``check`` of the URL);
* a size limit (``Content-Length`` and the bytes actually read), a timeout per operation and
  one for the whole document; no proxy from the environment is used.

Error messages name the address the operator gave (never a redirect target, which comes from
the remote) and the reason; they never quote a byte of what was fetched: a server's status
text is replaced by the standard phrase of its status code.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
REDIRECTS = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class FetchError(Exception):
    """The document cannot be fetched; the message says why and what to do (no content)."""


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    url: str  # the final address, after redirects


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(packed)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why the harvester must not connect to ``address`` (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a link-local address"
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} inside an IPv6 address" if problem else None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "an address that is not public"),
    )
    return next((reason for refused, reason in checks if refused), None)


@dataclass(frozen=True)
class AllowList:
    """Hosts on internal addresses the operator lets the harvester reach."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(entry.strip().lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        return any(address.version == n.version and address in n for n in self.networks)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this to prove refusals)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, allow: AllowList, where: str = "") -> list[IPAddress]:
    """The addresses of ``host``, every one checked; raises FetchError when any is refused.

    Messages name ``where`` when given (a redirect target's host and addresses come from the
    remote and are never quoted), else the host and the refused address."""
    name = where or host
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        raw = [str(literal)]
    else:
        try:
            raw = resolve(host, port)
        except (OSError, UnicodeError):
            raise FetchError(f"the host name of {name} cannot be resolved") from None
    addresses: list[IPAddress] = []
    for text in raw:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if "%" in text and isinstance(address, ipaddress.IPv6Address):
            problem: str | None = "a link-local address"
        else:
            problem = address_problem(address)
        if problem and not allow.allows(host, address):
            shown = f"{name} leads to {problem}" if where else f"{host} is {problem} ({address})"
            raise FetchError(
                f"{shown}: the harvester only reaches public addresses; an operator may list "
                "an internal catalogue in DATALUX_HARVEST_ALLOWED_HOSTS"
            )
        addresses.append(address)
    if not addresses:
        raise FetchError(f"the host name of {name} resolves to no address")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to one checked address; Host header stays the URL's host."""

    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one checked address; SNI and the certificate check use the URL's host."""

    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        self._tls = ssl.create_default_context()  # certificates checked, host name too
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _connect(address: IPAddress, port: int, timeout: float | None) -> socket.socket:
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(address), port))
        peer = ipaddress.ip_address(sock.getpeername()[0])
        if peer != address:  # belt and braces: the socket is where we checked
            raise FetchError("the connection went to another address than the one checked")
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def _target(url: str, where: str) -> _Target:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"a {scheme}: address" if scheme else "an address without http(s)://"
        raise FetchError(f"{where} is {shown}: only http(s) URLs are harvested")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{where} has an invalid port") from None
    host = parts.hostname or ""
    if not host:
        raise FetchError(f"{where} names no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host, port, path)


def fetch_url(
    url: str,
    *,
    headers: dict[str, str],
    max_bytes: int,
    timeout: float,
    total_timeout: float,
    allowed_hosts: Iterable[str] = (),
    check: Callable[[str], None] | None = None,
    max_redirects: int = MAX_REDIRECTS,
    label: str = "",
) -> Fetched:
    """GET ``url`` safely (see the module's docstring); ``check(url)`` may refuse any hop by
    raising FetchError (the harvester refuses this platform's own address there). Messages
    call the document ``label`` (default: ``url``), and a redirect by its number only."""
    allow = AllowList.parse(allowed_hosts)
    deadline = time.monotonic() + total_timeout
    current = url
    label = label or url
    for hop in range(max_redirects + 1):
        where = label if hop == 0 else f"{label} (redirect {hop})"
        target = _target(current, where)
        if check is not None:
            try:
                check(current)
            except FetchError as exc:
                raise FetchError(f"{where}: {exc}") from None
        addresses = checked_addresses(target.host, target.port, allow, where if hop else "")
        response, connection = _open(target, addresses, headers, timeout, where)
        try:
            status = response.status
            if status in REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(f"{where} redirects without a Location: not followed")
                current = urllib.parse.urljoin(current, location.strip())
                continue
            if not 200 <= status < 300:
                phrase = _phrase(status)
                raise FetchError(f"{where} answered HTTP {status} {phrase}: check the address")
            data = _read(response, max_bytes, deadline, where)
            content_type = response.headers.get_content_type() or ""
            return Fetched(data, content_type, current)
        finally:
            response.close()  # an HTTP/1.0 answer is detached from its connection already
            connection.close()
    raise FetchError(f"{label} redirects more than {max_redirects} times: not followed")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _open(
    target: _Target,
    addresses: list[IPAddress],
    headers: dict[str, str],
    timeout: float,
    where: str,
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    """Connect to the first checked address that answers and send the request."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last: str = ""
    for address in addresses:
        connection = kind(target.host, target.port, address=address, timeout=timeout)
        try:
            connection.request("GET", target.path, headers=headers)
            return connection.getresponse(), connection
        except FetchError:
            connection.close()
            raise
        except ssl.SSLCertVerificationError:
            connection.close()
            raise FetchError(
                f"{where}: the server's TLS certificate is not valid for {target.host}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            last = _network_reason(exc)
    raise FetchError(
        f"cannot read {where}: {last} (timeout {timeout:g} s); check the address and that "
        "the server answers"
    )


def _network_reason(exc: BaseException) -> str:
    """A fixed description of a network failure (never text the server sent)."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return "the TLS handshake failed"
    if isinstance(exc, http.client.HTTPException):
        return "the server's answer is not valid HTTP"
    return "the connection failed"


def _read(response: http.client.HTTPResponse, max_bytes: int, deadline: float, where: str) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(f"{where} announces {int(length)} bytes, over the limit of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"{where} took too long to send the document: stopped")
            chunk = response.read(min(CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"{where} sent more than {max_bytes} bytes: over the limit")
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"cannot read {where}: {_network_reason(exc)}") from None
    return b"".join(chunks)
