"""STS: the capability value and the persisted policy."""

from __future__ import annotations

import json

import pytest

from backchannel.protocol.sts import StsAdvertisement, StsPolicy, normalize_host, parse_sts_value


def test_parse_all_keys() -> None:
    assert parse_sts_value("port=6697,duration=300,preload") == StsAdvertisement(
        port=6697, duration=300, preload=True
    )


def test_parse_keys_in_any_order_and_unknown_keys_ignored() -> None:
    advert = parse_sts_value("future=thing,duration=15552000,x,port=6697")
    assert advert == StsAdvertisement(port=6697, duration=15552000, preload=False)


@pytest.mark.parametrize("port", ["0", "65536", "abc", "", "-1", "66 97", "６６９７"])
def test_invalid_port_counts_as_missing(port: str) -> None:
    assert parse_sts_value(f"port={port},duration=10").port is None
    assert parse_sts_value(f"port={port},duration=10").duration == 10


@pytest.mark.parametrize("duration", ["-5", "1.5", "forever", "", "²"])
def test_invalid_duration_counts_as_missing(duration: str) -> None:
    assert parse_sts_value(f"duration={duration},port=6697") == StsAdvertisement(port=6697)


def test_key_without_value_is_missing() -> None:
    assert parse_sts_value("port,duration") == StsAdvertisement()


def test_repeated_key_is_ignored() -> None:
    advert = parse_sts_value("port=6697,port=7000,duration=5")
    assert advert.port is None
    assert advert.duration == 5


def test_empty_value() -> None:
    assert parse_sts_value("") == StsAdvertisement()


def test_policy_from_duration() -> None:
    policy = StsPolicy.from_duration("IRC.Example.org.", 6697, 300, now=1000.0)
    assert policy == StsPolicy("irc.example.org", 6697, 300, 1300.0, False)
    assert policy.is_active(1299.9)
    assert not policy.is_active(1300.0)


def test_duration_zero_removes_policy() -> None:
    assert StsPolicy.from_duration("irc.example.org", 6697, 0, now=1000.0) is None


def test_invalid_policy_arguments() -> None:
    with pytest.raises(ValueError):
        StsPolicy.from_duration("irc.example.org", 6697, -1, now=0.0)
    with pytest.raises(ValueError):
        StsPolicy.from_duration("irc.example.org", 0, 10, now=0.0)


def test_rescheduled_on_disconnect() -> None:
    policy = StsPolicy.from_duration("irc.example.org", 6697, 100, now=0.0)
    assert policy is not None
    later = policy.rescheduled(now=90.0)
    assert later.expires_at == 190.0
    assert later.duration == 100
    assert policy.expires_at == 100.0  # frozen: the original is unchanged


def test_preload_kept() -> None:
    policy = StsPolicy.from_duration("h", 6697, 1, now=0.0, preload=True)
    assert policy is not None and policy.preload


def test_round_trip_through_json() -> None:
    policy = StsPolicy.from_duration("irc.example.org", 6697, 300, now=1234.5, preload=True)
    assert policy is not None
    assert StsPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"host": "h", "port": 6697, "duration": 5},
        {"host": "", "port": 6697, "duration": 5, "expires_at": 1.0},
        {"host": "h", "port": "6697", "duration": 5, "expires_at": 1.0},
        {"host": "h", "port": 99999, "duration": 5, "expires_at": 1.0},
        {"host": "h", "port": 6697, "duration": 0, "expires_at": 1.0},
        {"host": "h", "port": 6697, "duration": True, "expires_at": 1.0},
        {"host": "h", "port": 6697, "duration": 5, "expires_at": "soon"},
        {"host": "h", "port": 6697, "duration": 5, "expires_at": float("nan")},
        {"host": "h", "port": 6697, "duration": 5, "expires_at": 1.0, "preload": "yes"},
    ],
)
def test_from_dict_rejects_garbage(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StsPolicy.from_dict(data)


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(ValueError):
        StsPolicy.from_dict([])  # type: ignore[arg-type]


def test_normalize_host() -> None:
    assert normalize_host(" Irc.Libera.Chat. ") == "irc.libera.chat"
