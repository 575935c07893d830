"""The SSRF guard: which servers ``connect`` may reach."""

from __future__ import annotations

import pytest

from backchannel.irc.targets import (
    ServerSpec,
    TargetError,
    TargetPolicy,
    is_public_address,
    parse_port_ranges,
    parse_server,
)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("irc.example.org", "irc.example.org", 6667),
        ("IRC.Example.org:6697", "irc.example.org", 6697),
        ("irc.example.org.", "irc.example.org", 6667),
        ("192.0.2.1:7000", "192.0.2.1", 7000),
        ("[2001:db8::1]:6697", "2001:db8::1", 6697),
        ("[2001:DB8::1]", "2001:db8::1", 6667),
        ("2001:db8::1", "2001:db8::1", 6667),
    ],
)
def test_parse_server(text: str, host: str, port: int) -> None:
    assert parse_server(text) == ServerSpec(host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "irc.example.org:0",
        "irc.example.org:70000",
        "irc.example.org:x",
        "a b",
        "a@b",
        "[::1",
        "[::1]x",
        "[nothost]:1",
        "host:1:2:",
        "-bad.example",
        "a/b",
        "x" * 300,
    ],
)
def test_parse_server_rejects(text: str) -> None:
    with pytest.raises(TargetError):
        parse_server(text)


def test_port_ranges() -> None:
    assert parse_port_ranges("6660-6662, 6697") == frozenset({6660, 6661, 6662, 6697})
    assert parse_port_ranges("*") is None
    for bad in ("7000-6000", "0", "abc", "1-x"):
        with pytest.raises(TargetError):
            parse_port_ranges(bad)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "192.0.2.1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1:6667",
        "localhost:6667",
        "[::1]:6667",
        "10.0.0.1:6667",
        "169.254.169.254:6667",
        "0.0.0.0:6667",
        "[fd00::1]:6667",
        "2130706433:6667",
        "0x7f000001:6667",
        "224.0.0.1:6667",
    ],
)
async def test_private_targets_are_refused_after_resolution(target: str) -> None:
    with pytest.raises(TargetError, match=r"non-public|resolve"):
        await TargetPolicy().resolve(parse_server(target))


async def test_listed_server_may_be_private() -> None:
    policy = TargetPolicy(["127.0.0.1:7777", "localhost"], allowed_ports="6667")
    resolved = await policy.resolve(parse_server("127.0.0.1:7777"))
    assert resolved.addresses == ((2, "127.0.0.1"),)
    assert resolved.port == 7777
    # a host listed without a port may be reached on any port
    assert (await policy.resolve(parse_server("localhost:1234"))).port == 1234
    # ...but a listed port restricts that host to it
    with pytest.raises(TargetError, match="port"):
        await policy.resolve(parse_server("127.0.0.1:7778"))


async def test_ports_are_restricted_for_unlisted_servers() -> None:
    with pytest.raises(TargetError, match="port 25"):
        await TargetPolicy(allowed_ports="6660-6669,6697").resolve(parse_server("192.0.2.1:25"))


async def test_public_mode_with_a_list_allows_only_listed_servers() -> None:
    policy = TargetPolicy(["irc.example.org"], only_listed=True)
    with pytest.raises(TargetError, match="allowed servers"):
        await policy.resolve(parse_server("other.example.org"))
    # without a list, public mode falls back to the address rules
    assert not TargetPolicy([], only_listed=True).only_listed
