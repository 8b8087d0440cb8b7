"""The harvester cannot be turned against the platform (issue 10, items 2 and 3): no local file
outside the operator's folder, no internal address (checked at connect time and after every
redirect), no fetch by the RDF parser, no fetched byte in an error; a harvested record never
passes for a local organisation's dataset."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rdflib import Graph

from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue import fetch as remote
from datalux.catalogue import jsonld_contexts
from datalux.catalogue.harvest import HarvestError, fetch, register_source, run_harvest
from datalux.catalogue.models import Dataset, DatasetStatus
from datalux.catalogue.vocabularies import AccessRights
from tests.catalogue.test_harvest import EU, PREFIXES, RIVERS, holder, write
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db
__all__ = ["holder"]

SECRET = "s3cr3tpassw0rd"
# What /etc/passwd looks like to a Turtle parser: 'Prefix "s3cr3tpassw0rd:" not bound'.
PASSWD = f"{SECRET}:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:{SECRET}:/usr/sbin\n"


class Server:
    """A loopback HTTP server with scripted answers; it records every request it gets."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Host", "")))
                status, headers, body = server.routes.get(self.path, (404, {}, b""))
                reason = f"{SECRET} reason" if status >= 400 else None
                self.send_response(status, reason)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def serve(self, path: str, body: str, content_type: str = "text/turtle") -> str:
        self.routes[path] = (200, {"Content-Type": content_type}, body.encode())
        return self.url + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = (status, {"Location": location}, b"")
        return self.url + path

    def paths(self) -> list[str]:
        return [p for p, _host in self.requests]


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _defaults(settings: Any) -> None:
    """Production's defaults: no harvest folder, no allowed internal host."""
    settings.DATALUX_HARVEST_FILE_DIR = None
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ()


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("127.0.0.1",)


def _source(url: str, holder: Any, name: str = "remote") -> Any:
    """A source pointing anywhere (as an old record, or the admin, could): no check here."""
    from datalux.catalogue.models import Catalogue, HarvestSource

    catalogue = Catalogue.objects.create(slug=f"harvest-{name}", publisher=holder, is_local=False)
    return HarvestSource.objects.create(name=name, url=url, publisher=holder, catalogue=catalogue)


def _assert_not_quoted(source: Any, message: str) -> None:
    source.refresh_from_db()
    event = AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN).order_by("-seq").first()
    for text in (message, json.dumps(source.last_report), event.details_json if event else ""):
        assert SECRET not in text
        assert "root:" not in text and "/bin/bash" not in text


# -- local files ------------------------------------------------------------------------------
@pytest.mark.parametrize("location", ["/etc/passwd", "file:///etc/passwd", "etc/passwd"])
def test_local_files_are_refused_without_a_harvest_folder(holder: Any, location: str) -> None:
    with pytest.raises(ValidationError, match="local files are not harvested here"):
        register_source(name="x", url=location, publisher=holder)
    source = _source(location, holder)
    with pytest.raises(HarvestError, match="local files are not harvested here") as caught:
        run_harvest(source=source)
    _assert_not_quoted(source, str(caught.value))


def test_only_files_inside_the_harvest_folder(tmp_path: Path, holder: Any, settings: Any) -> None:
    folder = tmp_path / "harvest"
    folder.mkdir()
    settings.DATALUX_HARVEST_FILE_DIR = folder
    write(folder / "catalog.ttl", RIVERS)
    assert register_source(name="ok", url=str(folder / "catalog.ttl"), publisher=holder)
    (folder / "link.ttl").symlink_to("/etc/passwd")
    (folder / "sub").mkdir()
    for location in (
        "/etc/passwd",
        "file:///etc/passwd",
        str(folder / ".." / ".." / "etc" / "passwd"),
        str(folder / "link.ttl"),  # a symbolic link out of the folder
        "sub/../../catalog.ttl",
    ):
        with pytest.raises(ValidationError, match="outside the folder"):
            register_source(name="x", url=location, publisher=holder)
        with pytest.raises(HarvestError, match="outside the folder"):
            fetch(location)


def test_a_file_that_is_no_rdf_is_never_quoted(tmp_path: Path, holder: Any, settings: Any) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    (tmp_path / "passwd.ttl").write_text(PASSWD)
    source = _source(str(tmp_path / "passwd.ttl"), holder)
    with pytest.raises(HarvestError, match=r"is not valid Turtle at line 1, column \d+") as caught:
        run_harvest(source=source)
    assert "not bound" in str(caught.value)  # the parser's reason, without the token
    _assert_not_quoted(source, str(caught.value))


@pytest.mark.parametrize("scheme", ["ftp", "gopher", "dict", "data", "jar"])
def test_other_schemes_are_refused(holder: Any, scheme: str) -> None:
    with pytest.raises(ValidationError, match="use an http"):
        register_source(name="x", url=f"{scheme}://example.lu/catalog.ttl", publisher=holder)


# -- addresses ----------------------------------------------------------------------------------
REFUSED = [
    ("127.0.0.1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("192.168.0.10", "a private address"),
    ("172.16.5.4", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "an address that is not public"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104
    ("224.0.0.251", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("::1", "a loopback address"),
    ("fd00::1", "a private address"),  # IPv6 unique local
    ("fe80::1", "a link-local address"),
    ("fe80::1%2", "a link-local address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:10.0.0.1", "a private address inside an IPv6 address"),  # IPv4-mapped
    ("::ffff:127.0.0.1", "a loopback address inside an IPv6 address"),
    ("::ffff:169.254.169.254", "a link-local address inside an IPv6 address"),
    ("2002:a00:1::", "a private address inside an IPv6 address"),  # 6to4 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "a link-local address inside an IPv6 address"),  # NAT64
]


def _no_connection(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the harvester connected to a refused address")


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_internal_addresses_are_refused_before_connecting(
    holder: Any, monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.216.34", address]  # one public address is not enough: all are checked

    monkeypatch.setattr(remote, "resolve", resolve)
    monkeypatch.setattr(remote, "_connect", _no_connection)
    source = register_source(
        name="x", url="https://catalogue.example.lu/catalog.ttl", publisher=holder
    )
    with pytest.raises(HarvestError) as caught:
        run_harvest(source=source)
    assert f"catalogue.example.lu is {reason} (" in str(caught.value)
    assert "DATALUX_HARVEST_ALLOWED_HOSTS" in str(caught.value)
    assert asked == ["catalogue.example.lu"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/x",
        "http://[fd12:3456::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://localhost:9000/x",
        "http://api.localhost/x",
    ],
)
def test_literal_internal_addresses_are_refused_at_registration(holder: Any, url: str) -> None:
    with pytest.raises(ValidationError, match="only reaches public addresses"):
        register_source(name="x", url=url, publisher=holder)


def test_an_operator_may_allow_listed_internal_hosts(
    holder: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    path = "/catalog.ttl"
    server.serve(path, PREFIXES + RIVERS)
    monkeypatch.setattr(remote, "resolve", lambda host, port: ["127.0.0.1"])
    url = f"http://catalogue.intranet.lu:{server.port}{path}"
    with pytest.raises(HarvestError, match="loopback"):
        fetch(url)
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("catalogue.intranet.lu",)  # by name
    assert b"Rivers" in fetch(url).data
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("127.0.0.0/8",)  # by network
    assert b"Rivers" in fetch(url).data
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("10.0.0.0/8", "other.intranet.lu")
    with pytest.raises(HarvestError, match="loopback"):
        fetch(url)


def test_the_checked_address_is_the_one_connected_to(
    holder: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    """DNS rebinding: the name resolves once per hop; the connection goes to that address
    (a second resolution would give a private one) with the name in the Host header."""
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("127.0.0.1/32",)
    answers = iter([["127.0.0.1"]])
    monkeypatch.setattr(remote, "resolve", lambda host, port: next(answers, ["10.0.0.1"]))

    def no_resolution(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the connection resolved the name again")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolution)
    server.serve("/catalog.ttl", PREFIXES + RIVERS)
    document = fetch(f"http://rebind.example.lu:{server.port}/catalog.ttl")
    assert b"Rivers" in document.data
    assert server.requests == [("/catalog.ttl", f"rebind.example.lu:{server.port}")]


# -- redirects --------------------------------------------------------------------------------
def test_redirects_are_checked_at_every_hop(
    holder: Any, loopback_allowed: None, monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    real = remote.resolve
    monkeypatch.setattr(
        remote, "resolve", lambda h, p: ["10.9.8.7"] if h == "internal.example" else real(h, p)
    )
    good = server.serve("/catalog.ttl", PREFIXES + RIVERS)
    cases = {
        "/metadata": ("http://169.254.169.254/latest/meta-data/", "leads to a link-local"),
        "/internal": ("http://internal.example/catalog.ttl", "leads to a private address"),
        "/file": ("file:///etc/passwd", "is a file: address: only http(s)"),
        "/gopher": ("gopher://127.0.0.1:25/x", "is a gopher: address: only http(s)"),
    }
    for path, (location, reason) in cases.items():
        url = server.redirect(path, location)
        with pytest.raises(HarvestError) as caught:
            fetch(url)
        message = str(caught.value)
        assert f"{url} (redirect 1)" in message and reason in message, message
        assert location not in message and "169.254" not in message and "10.9.8.7" not in message
    # A chain is followed hop by hop, relative locations included, up to five hops.
    server.redirect("/a", "/b", 301)
    server.redirect("/b", good, 307)
    assert b"Rivers" in fetch(server.url + "/a").data
    for n in range(7):
        server.redirect(f"/loop{n}", f"/loop{n + 1}")
    with pytest.raises(HarvestError, match="redirects more than 5 times"):
        fetch(server.url + "/loop0")
    assert "/loop6" not in server.paths()


def test_a_redirect_to_this_platform_is_refused(
    holder: Any, loopback_allowed: None, server: Server, settings: Any
) -> None:
    settings.DATALUX_BASE_URI = "https://data.example.lu"
    url = server.redirect("/own", "https://data.example.lu/catalogue/dcat")
    with pytest.raises(HarvestError, match=r"\(redirect 1\): the address redirects to this"):
        fetch(url)


def test_http_errors_never_quote_the_server(
    holder: Any, loopback_allowed: None, server: Server
) -> None:
    server.routes["/secret"] = (500, {"Content-Type": "text/plain"}, PASSWD.encode())
    url = server.url + "/secret"
    source = register_source(name="x", url=url, publisher=holder)
    with pytest.raises(HarvestError, match="answered HTTP 500 Internal Server Error") as caught:
        run_harvest(source=source)
    _assert_not_quoted(source, str(caught.value))  # neither its reason text nor its body
    server.serve("/passwd", PASSWD)
    source.url = server.url + "/passwd"
    source.save()
    with pytest.raises(HarvestError, match="is not valid Turtle") as caught:
        run_harvest(source=source)
    _assert_not_quoted(source, str(caught.value))


@pytest.mark.parametrize(
    ("body", "content_type", "format_name"),
    [
        (f'{{"@id": "http://a/", "{SECRET}": [1,}}', "application/ld+json", "JSON-LD"),
        (f"<?xml version='1.0'?><{SECRET}><unclosed></{SECRET}>", "application/rdf+xml", "RDF/XML"),
        (f'@prefix dct: <http://purl.org/dc/terms/> .\n<a> dct:title "x" {SECRET} .', "", "Turtle"),
        (f"<a> <b> {SECRET}:c .", "text/turtle", "Turtle"),
    ],
)
def test_parse_errors_never_quote_the_document(
    holder: Any, loopback_allowed: None, server: Server, body: str, content_type: str,
    format_name: str,
) -> None:  # fmt: skip
    url = server.serve("/doc", body, content_type or "text/turtle")
    source = register_source(name="x", url=url, publisher=holder)
    with pytest.raises(HarvestError, match=f"is not valid {format_name}") as caught:
        run_harvest(source=source)
    _assert_not_quoted(source, str(caught.value))


# -- the RDF parser fetches nothing -----------------------------------------------------------
def test_remote_contexts_and_imports_are_never_fetched(
    holder: Any, loopback_allowed: None, server: Server, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, settings: Any,
) -> None:  # fmt: skip
    context = server.serve(
        "/context.jsonld",
        json.dumps({"@context": {"dct": "http://purl.org/dc/terms/"}}),
        "application/ld+json",
    )
    imported = server.serve("/imported.ttl", PREFIXES + RIVERS)
    document = {
        "@context": [
            context,
            {"@import": context, "dcat": "http://www.w3.org/ns/dcat#"},
            {"owl": "http://www.w3.org/2002/07/owl#"},
        ],
        "@graph": [
            {
                "@id": "https://remote.example.lu/dataset/roads",
                "@type": "dcat:Dataset",
                "dct:title": {"@value": "Roads", "@language": "en"},
                "dct:description": {"@value": "The road network.", "@language": "en"},
                "owl:imports": {"@id": imported},
            },
            {"@id": "https://remote.example.lu/x", "@context": "/context.jsonld"},
        ],
    }
    url = server.serve("/catalog.jsonld", json.dumps(document), "application/ld+json")
    source = register_source(name="x", url=url, publisher=holder)
    with pytest.raises(HarvestError, match="not in the packaged cache"):
        run_harvest(source=source)
    assert server.paths() == ["/catalog.jsonld"]  # the document, nothing it refers to
    # With a reviewed copy of the context in the cache, the same document is read, and
    # still only the document is fetched.
    cache = tmp_path / "contexts.json"
    cache.write_text(json.dumps({context: {"@context": {"dct": "http://purl.org/dc/terms/"}}}))
    monkeypatch.setattr(jsonld_contexts, "CACHE_FILE", cache)
    report = run_harvest(source=source)
    assert report.created == 1
    assert server.paths() == ["/catalog.jsonld", "/catalog.jsonld"]
    # Turtle and RDF/XML: owl:imports and external entities are not followed either.
    turtle = server.serve(
        "/catalog.ttl",
        PREFIXES
        + RIVERS
        + "<https://remote.example.lu/dataset/rivers> "
        + f"<http://www.w3.org/2002/07/owl#imports> <{imported}> .\n",
    )
    xml = server.serve(
        "/catalog.rdf",
        f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [<!ENTITY remote SYSTEM "{server.url}/entity">
  <!ENTITY local SYSTEM "file:///etc/passwd"> <!ENTITY % dtd SYSTEM "{server.url}/dtd"> %dtd;]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
  <dcat:Dataset rdf:about="https://remote.example.lu/dataset/bridges">
    <dct:title xml:lang="en">Bridges&remote;&local;</dct:title>
  </dcat:Dataset>
</rdf:RDF>""",
        "application/rdf+xml",
    )
    settings.DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT = 100  # each document replaces the last
    for address in (turtle, xml):
        source.url = address
        source.save()
        run_harvest(source=source)
    assert server.paths()[2:] == ["/catalog.ttl", "/catalog.rdf"]
    bridges = Dataset.objects.get(remote_id="https://remote.example.lu/dataset/bridges")
    assert bridges.title == {"en": "Bridges"}  # the entities were never expanded


def test_rdflib_itself_cannot_load_a_remote_context(server: Server) -> None:
    """Defence in depth: a context that would reach rdflib's loader is refused there."""
    context = server.serve("/ctx", json.dumps({"@context": {}}), "application/ld+json")
    document = json.dumps({"@context": context, "@id": "http://a/"})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        with pytest.raises(jsonld_contexts.RemoteContextRefused):
            Graph().parse(data=document, format="json-ld")
    assert server.paths() == []


# -- item 3: harvested records never pass for local ones --------------------------------------
def impostor(access: str = "PUBLIC", name: str = "roads") -> str:
    return f"""
<https://remote.example.lu/dataset/{name}> a dcat:Dataset ;
    dct:title "{name.title()}"@en ; dct:description "The {name}."@en ;
    dct:publisher [ a foaf:Agent ; foaf:name "Ministry of Health" ] ;
    dct:accessRights <{EU}/access-right/{access}> ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:accessURL <https://attacker.example/login> ] .
"""


def test_a_record_naming_a_local_publisher_belongs_to_the_source(
    tmp_path: Path, holder: Any, settings: Any
) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    ministry = OrganisationFactory(kind=OrganisationKind.DATA_HOLDER, name="Ministry of Health")
    path = write(tmp_path / "c.ttl", impostor(), impostor("RESTRICTED", "patients"))
    source = register_source(name="remote", url=str(path), publisher=holder)
    # An earlier harvest had given a record to the ministry, restricted, with conditions.
    earlier = DatasetFactory(
        catalogue=source.catalogue,
        publisher=ministry,
        harvest_source=source,
        remote_id="https://remote.example.lu/dataset/roads",
        access_rights=AccessRights.RESTRICTED,
        legal_basis="Law of the ministry",
        conditions_for_reuse="Apply to the ministry",
    )
    report = run_harvest(source=source)
    assert report.skipped_invalid == 1
    assert any("patients is not open data at its source" in p for p in report.problems)
    [record] = Dataset.objects.filter(harvest_source=source)
    assert record.pk == earlier.pk and record.is_harvested
    assert record.publisher == holder and record.catalogue == source.catalogue
    assert record.access_rights == AccessRights.PUBLIC and not record.is_protected
    assert (record.legal_basis, record.conditions_for_reuse) == ("", "")
    assert not ministry.datasets.exists()
    assert not Dataset.objects.filter(remote_id__endswith="/patients").exists()


def test_a_harvested_record_is_shown_as_harvested_with_external_links(
    tmp_path: Path, holder: Any, settings: Any, client: Client
) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    source = register_source(
        name="Remote portal", url=str(write(tmp_path / "c.ttl", impostor())), publisher=holder
    )
    run_harvest(source=source)
    record = Dataset.objects.get(harvest_source=source)
    assert record.status == DatasetStatus.PUBLISHED
    html = client.get(f"/catalogue/datasets/{record.pid}/").content.decode()
    assert 'id="harvested-notice"' in html and "harvested from Remote portal" in html
    assert (
        '<a class="external" href="https://attacker.example/login" '
        'rel="external nofollow noopener noreferrer" referrerpolicy="no-referrer">'
    ) in html
    assert 'id="request-access"' not in html
    listing = client.get("/catalogue/").content.decode()
    assert 'class="badge harvested"' in listing


# -- TLS to the checked address ----------------------------------------------------------------
def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and its key), made for the test."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_https_checks_the_certificate_of_the_host_name_at_the_pinned_address(
    server: Server, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    cert_file, key_file = _certificate(tmp_path, "catalogue.test")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    server.serve("/catalog.ttl", PREFIXES + RIVERS)
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("127.0.0.1/32",)
    monkeypatch.setattr(remote, "resolve", lambda host, port: ["127.0.0.1"])
    trusted = ssl.create_default_context(cafile=str(cert_file))  # the test's own authority
    monkeypatch.setattr(remote.ssl, "create_default_context", lambda: trusted)
    # SNI and the certificate check use the URL's name, though the socket goes to 127.0.0.1.
    document = fetch(f"https://catalogue.test:{server.port}/catalog.ttl")
    assert b"Rivers" in document.data
    assert server.requests == [("/catalog.ttl", f"catalogue.test:{server.port}")]
    with pytest.raises(HarvestError, match=r"certificate is not valid for other\.test"):
        fetch(f"https://other.test:{server.port}/catalog.ttl")
