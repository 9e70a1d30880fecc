"""SSRF guard: the shared address table, URL spellings, and the checks at delivery time."""

from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.models import Delivery, Subscription
from services.api.webhooks.outbox import enqueue_test
from services.api.webhooks.signing import generate_secret
from services.api.webhooks.ssrf import (
    HostUnresolvable,
    Target,
    UrlRefused,
    check_ip,
    resolve_target,
)
from services.api.webhooks.transport import make_client, post
from shared.settings import WebhookSettings, parse_cidrs

VECTORS_PATH = Path(__file__).resolve().parents[1] / "data" / "ssrf-vectors.json"
LOOPBACK = parse_cidrs("127.0.0.0/8")


def _vector_cases() -> list[Any]:
    data = json.loads(VECTORS_PATH.read_text())
    rows = data["svix_is_allowed_test"] + data["additional_from_smokescreen_and_cloud"]
    return [pytest.param(row, id=f"{row['ip']}-{row['expect']}") for row in rows]


def stub_resolver(table: dict[str, Sequence[str]]) -> Callable[[str], Sequence[str]]:
    def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise HostUnresolvable(f"no stub record for {host!r}")
        return table[host]

    return resolve


@pytest.mark.parametrize("row", _vector_cases())
def test_shared_address_table(row: dict[str, str]) -> None:
    resolver = stub_resolver({"hooks.example.com": [row["ip"]]})
    if row["expect"] == "block":
        with pytest.raises(UrlRefused):
            resolve_target("https://hooks.example.com/pantau", resolver=resolver)
    else:
        target = resolve_target("https://hooks.example.com/pantau", resolver=resolver)
        assert target.ip == ipaddress.ip_address(row["ip"])
        assert target.host == "hooks.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://localhost./",
        "http://LOCALHOST/",
        "http://[example.com]/",
        "http://rebind.localtest.me/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://[fe80::1%25eth0]/",
        "http://1.2.3.4.5/",
        "http://1.2.3.256/",
        "http://example.123/",
        "http://08.0.0.1/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pass@example.com/",
        "http:///nohost",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://a..b/",
    ],
)
def test_url_spellings_are_refused(url: str) -> None:
    resolver = stub_resolver(
        {
            "localhost": ["127.0.0.1"],
            "rebind.localtest.me": ["127.0.0.1"],
            "example.com": ["93.184.215.14"],
        }
    )
    with pytest.raises(UrlRefused):
        resolve_target(url, resolver=resolver)


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
        ("http://localhost./", "127.0.0.1"),
    ],
)
def test_allow_list_is_checked_first(url: str, ip: str) -> None:
    target = resolve_target(url, LOOPBACK, stub_resolver({"localhost": ["127.0.0.1"]}))
    assert target.ip == ipaddress.ip_address(ip)


def test_every_resolved_address_must_pass() -> None:
    resolver = stub_resolver({"mixed.example.com": ["93.184.215.14", "10.0.0.1"]})
    with pytest.raises(UrlRefused, match=r"10\.0\.0\.0/8"):
        resolve_target("https://mixed.example.com/", resolver=resolver)


def test_target_keeps_host_port_and_path() -> None:
    resolver = stub_resolver({"hooks.example.com": ["2606:4700::1", "93.184.215.14"]})
    target = resolve_target("https://Hooks.Example.com.:8443/a/b?x=1#frag", resolver=resolver)
    assert target == Target(
        "https", "hooks.example.com", 8443, ipaddress.ip_address("93.184.215.14"), "/a/b?x=1"
    )
    assert target.host_header == "hooks.example.com:8443"
    assert target.server_name == "hooks.example.com"
    assert target.connect_url == "https://93.184.215.14:8443/a/b?x=1"
    v6 = resolve_target("http://[2606:4700::1]/", resolver=resolver)
    assert (v6.connect_url, v6.host_header, v6.server_name) == (
        "http://[2606:4700::1]:80/",
        "[2606:4700::1]",
        None,
    )


def _spellings(n: int) -> list[str]:
    a = ipaddress.IPv4Address(n)
    octets = str(a).split(".")
    return [
        f"http://{n}/",
        f"http://{hex(n)}/",
        "http://" + ".".join(f"0{int(o):o}" for o in octets) + "/",
        f"http://{octets[0]}.{int.from_bytes(a.packed[1:], 'big')}/",
        f"http://[::ffff:{a}]/",
    ]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_numeric_spellings_decide_like_the_address(n: int) -> None:
    try:
        check_ip(ipaddress.IPv4Address(n))
        blocked = False
    except UrlRefused:
        blocked = True
    for url in _spellings(n):
        try:
            resolve_target(url, resolver=stub_resolver({}))
            assert not blocked, url
        except UrlRefused:
            assert blocked, url


# --- at delivery time, through the dispatcher -------------------------------------------------


def _subscribe_and_send(sessions: sessionmaker[Session], url: str) -> int:
    with sessions.begin() as session:
        subscription = Subscription(url=url, secret=generate_secret())
        session.add(subscription)
        session.flush()
        return enqueue_test(session, subscription).id


def _dispatch(sessions: sessionmaker[Session], resolver: Any, **settings: Any) -> Delivery:
    dispatcher = Dispatcher(
        sessions, WebhookSettings(request_timeout_s=2, lease_s=10, **settings), resolver=resolver
    )
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.stop()
    with sessions() as session:
        return session.get_one(Delivery, 1)


def test_dns_rebinding_is_refused_at_delivery(sessions: Any, make_receiver: Any) -> None:
    receiver = make_receiver()
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    resolver = lambda _host: next(answers)  # noqa: E731
    url = f"http://hooks.koperasi.test:{receiver.port}/hook"
    resolve_target(url, LOOPBACK, resolver)  # what the subscription check saw
    _subscribe_and_send(sessions, url)
    delivery = _dispatch(sessions, resolver, allow_cidrs="127.0.0.0/8")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error is not None and "169.254.0.0/16" in delivery.last_error
    assert receiver.requests == []


def test_connects_to_the_checked_ip_with_the_original_host(
    sessions: Any, make_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = make_receiver(respond=lambda _r: 502)  # a "proxy" that must not be used
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead.port}")
    receiver = make_receiver()
    _subscribe_and_send(sessions, f"http://hooks.koperasi.test:{receiver.port}/hook?k=1")
    resolver = stub_resolver({"hooks.koperasi.test": ["127.0.0.1"]})
    delivery = _dispatch(sessions, resolver, allow_cidrs="127.0.0.1/32")
    assert delivery.status == "delivered"
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.koperasi.test:{receiver.port}"
    assert request.path == "/hook?k=1"
    assert dead.requests == []


def test_redirects_are_not_followed(sessions: Any, make_receiver: Any) -> None:
    inner = make_receiver()
    outer = make_receiver(respond=lambda _r: (302, {"location": inner.url}))
    _subscribe_and_send(sessions, outer.url)
    delivery = _dispatch(sessions, None, allow_cidrs="127.0.0.0/8")
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert len(outer.requests) == 1 and inner.requests == []


def test_loopback_is_refused_without_the_allow_list(sessions: Any, make_receiver: Any) -> None:
    receiver = make_receiver()
    _subscribe_and_send(sessions, receiver.url)
    delivery = _dispatch(sessions, None)
    assert delivery.last_error is not None and delivery.last_error.startswith("refused")
    assert receiver.requests == []


# --- TLS: connect to the IP, present and verify the original host name --------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=hooks.koperasi.test",
            "-addext",
            "subjectAltName=DNS:hooks.koperasi.test",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_uses_the_original_host_as_server_name(
    tls_files: tuple[Path, Path], make_receiver: Any
) -> None:
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    seen_names: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: seen_names.append(name)  # type: ignore[assignment,func-returns-value]
    receiver = make_receiver(ssl_context=server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    client = httpx.Client(verify=client_ctx, trust_env=False, follow_redirects=False, timeout=5)
    resolver = stub_resolver({"hooks.koperasi.test": ["127.0.0.1"], "evil.test": ["127.0.0.1"]})
    with client:
        good = resolve_target(f"https://hooks.koperasi.test:{receiver.port}/h", LOOPBACK, resolver)
        assert post(client, good, {}, b"{}").outcome == "success"
        bad = resolve_target(f"https://evil.test:{receiver.port}/h", LOOPBACK, resolver)
        result = post(client, bad, {}, b"{}")
    assert result.outcome == "connection_error" and "CERTIFICATE" in (result.error or "").upper()
    assert seen_names == ["hooks.koperasi.test", "evil.test"]
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["host"] == f"hooks.koperasi.test:{receiver.port}"


def test_production_client_ignores_proxies_and_redirects() -> None:
    with make_client(1.0) as client:
        assert client.trust_env is False and client.follow_redirects is False
