"""The SSRF guard: which URLs and addresses shop webhooks may reach. No network: every
name resolves through a table."""

from __future__ import annotations

import ipaddress

import pytest

from paydesk.notifications.ssrf import (
    AddressPolicy,
    StaticResolver,
    UrlGuard,
    UrlNotAllowed,
    check_url_shape,
    ip_literal,
)

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "2001:db8::1",
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_and_special_addresses_are_refused(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_lets_its_addresses_through_and_no_others() -> None:
    policy = AddressPolicy(["127.0.0.0/8"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is not None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) is not None


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "0xa9.0xfe.0xa9.0xfe"]
)
def test_legacy_ipv4_spellings_are_refused(host: str) -> None:
    with pytest.raises(UrlNotAllowed, match="legacy spelling"):
        ip_literal(host)


def test_literals_and_names_are_told_apart() -> None:
    assert ip_literal("10.0.0.1") == ipaddress.ip_address("10.0.0.1")
    assert ip_literal("::1") == ipaddress.ip_address("::1")
    assert ip_literal("hooks.example.com") is None
    assert ip_literal("0xfeed.example.com") is None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "url_invalid"),
        ("file:///etc/passwd", "url_invalid"),
        ("https://user:pass@example.com/hook", "url_invalid"),
        ("https://token@example.com/hook", "url_invalid"),
        ("https:///hook", "url_invalid"),
        ("https://example.com:99999/hook", "url_invalid"),
        ("https://example.com/" + "a" * 2048, "url_invalid"),
        ("https://exa mple.com/", "url_invalid"),
    ],
)
def test_malformed_urls_are_refused(url: str, code: str) -> None:
    with pytest.raises(UrlNotAllowed) as refused:
        check_url_shape(url)
    assert refused.value.code == code


def test_the_default_port_follows_the_scheme() -> None:
    assert check_url_shape("https://example.com/x") == ("example.com", 443)
    assert check_url_shape("http://example.com/x") == ("example.com", 80)
    assert check_url_shape("https://[2606:4700::1]:8443/") == ("2606:4700::1", 8443)


async def test_a_name_is_refused_when_any_of_its_addresses_is_internal() -> None:
    resolver = StaticResolver(
        {
            "mixed.example": ["93.184.216.34", "10.0.0.1"],
            "public.example": ["93.184.216.34"],
            "metadata.example": ["169.254.169.254"],
        }
    )
    guard = UrlGuard(AddressPolicy(), resolver)
    assert (await guard.vet("https://public.example/hook")).addresses == (
        ipaddress.ip_address("93.184.216.34"),
    )
    for url in ["https://mixed.example/", "https://metadata.example/", "http://[::1]:8080/"]:
        with pytest.raises(UrlNotAllowed) as refused:
            await guard.vet(url)
        assert refused.value.code == "url_not_allowed"


async def test_localhost_is_loopback_whatever_the_resolver_says() -> None:
    guard = UrlGuard(AddressPolicy(), StaticResolver({"localhost": ["93.184.216.34"]}))
    for url in ["http://localhost/", "http://LOCALHOST./", "http://api.localhost:8000/"]:
        with pytest.raises(UrlNotAllowed, match="loopback"):
            await guard.vet(url)


async def test_a_name_without_addresses_is_refused() -> None:
    guard = UrlGuard(AddressPolicy(), StaticResolver({}))
    with pytest.raises(UrlNotAllowed) as refused:
        await guard.vet("https://nowhere.example/")
    assert refused.value.code == "url_unresolvable"
