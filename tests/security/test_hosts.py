"""Host header parsing and the allowed names, with hostile input."""

from __future__ import annotations

import pytest

from exstreamtv.config import Settings
from exstreamtv.web.hosts import AllowedHosts, host_name, is_loopback_name


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("LocalHost:8411", "localhost"),
        ("tv.example.com.", "tv.example.com"),
        ("[::1]:8411", "::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("192.0.2.1:80", "192.0.2.1"),
        ("", None),
        ('evil.com"><script>', None),
        ("a b", None),
        ("host:port", None),
        ("[not-an-ip]", None),
        ("[::1]junk", None),
        ("xn--80ak6aa92e.com", "xn--80ak6aa92e.com"),
        ("пример.рф", None),  # browsers send the punycode form
        ("a..b", None),
        ("a" * 64 + ".com", None),
        ("user@host", None),
        ("host\x00.com", None),
    ],
)
def test_host_headers_parse_to_a_name_or_are_refused(header: str, name: str | None) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("name", ["localhost", "tv.localhost", "127.0.0.1", "127.9.9.9", "::1"])
def test_loopback_names(name: str) -> None:
    assert is_loopback_name(name)


@pytest.mark.parametrize("name", ["localhost.evil.com", "127.0.0.1.nip.io", "10.0.0.1", "::2"])
def test_names_that_only_look_like_loopback(name: str) -> None:
    assert not is_loopback_name(name)


def _hosts(**server: object) -> AllowedHosts:
    return AllowedHosts.of(Settings.model_validate({"server": server}), machine_names=["den"])


def test_a_loopback_server_answers_to_loopback_its_base_url_and_listed_names() -> None:
    hosts = _hosts(base_url="https://tv.example.org/x", allowed_hosts=["nas", "*.home.arpa"])
    for name in ("localhost", "127.0.0.1", "tv.example.org", "nas", "tv.home.arpa"):
        assert hosts.allows(name), name
    for name in ("evil.example", "192.0.2.1", "den", "home.arpa", "evilhome.arpa", "nas.evil"):
        assert not hosts.allows(name), name


def test_a_server_on_every_interface_answers_to_addresses_and_its_host_name() -> None:
    hosts = _hosts(host="0.0.0.0")
    for name in ("192.0.2.1", "2001:db8::1", "den", "den.local"):
        assert hosts.allows(name), name
    assert not hosts.allows("evil.example")


@pytest.mark.parametrize("entry", ["host:8411", "http://host", "*", ".example.com", "a b"])
def test_allowed_hosts_refuse_what_is_not_a_name(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        Settings.model_validate({"server": {"allowed_hosts": [entry]}})
