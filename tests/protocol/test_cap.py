"""Capability negotiation, fed literal server lines (scenarios after the
irctest client suite)."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from backchannel.protocol.cap import (
    SUPPORTED_CAPS,
    Action,
    CapNegotiator,
    CapsChanged,
    NegotiationDone,
    Send,
    StsPersist,
    StsUpgrade,
    parse_cap_list,
)
from backchannel.protocol.message import parse
from backchannel.protocol.sasl import SaslConfig, SaslFailure, SaslFailureKind, SaslSuccess

PLAIN = SaslConfig("PLAIN", "jilles", "sesame")


def sent(actions: list[Action]) -> list[str]:
    return [a.line for a in actions if isinstance(a, Send)]


def feed(neg: CapNegotiator, *lines: str) -> list[Action]:
    out: list[Action] = []
    for line in lines:
        out.extend(neg.feed(parse(line)))
    return out


def requested(actions: list[Action]) -> set[str]:
    caps: set[str] = set()
    for line in sent(actions):
        if line.startswith("CAP REQ :"):
            caps.update(line.removeprefix("CAP REQ :").split())
    return caps


def test_first_line_is_cap_ls_302() -> None:
    assert CapNegotiator(tls=True).start()[0] == "CAP LS 302"


def test_empty_ls_ends_negotiation() -> None:
    neg = CapNegotiator(tls=True)
    assert feed(neg, ":irc.example.org CAP * LS :") == [Send("CAP END"), NegotiationDone({})]
    assert neg.done


def test_multiline_ls_waits_for_the_last_line() -> None:
    neg = CapNegotiator(tls=True)
    assert feed(neg, ":irc CAP * LS * :multi-prefix extended-join") == []
    assert feed(neg, ":irc CAP * LS * :away-notify") == []
    actions = feed(neg, ":irc CAP * LS :server-time")
    assert requested(actions) == {"multi-prefix", "extended-join", "away-notify", "server-time"}
    assert "CAP END" not in sent(actions)


def test_requests_only_what_is_offered_and_wanted() -> None:
    neg = CapNegotiator(tls=True)  # no SASL configured
    actions = feed(
        neg,
        ":irc CAP * LS :multi-prefix vendor/unknown draft/event-playback sasl=PLAIN "
        "sts=duration=5 chghost",
    )
    assert requested(actions) == {"multi-prefix", "chghost"}


def test_sasl_requested_only_when_configured() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    assert requested(feed(neg, ":irc CAP * LS :sasl=PLAIN multi-prefix")) == {
        "sasl",
        "multi-prefix",
    }


def test_values_are_parsed_and_kept_for_enabled_caps() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS * :sasl=PLAIN,EXTERNAL draft/languages=2,en,~fr")
    feed(neg, ":irc CAP * LS :multi-prefix sts=duration=300,port=6697")
    assert neg.available["sasl"] == "PLAIN,EXTERNAL"
    assert neg.available["draft/languages"] == "2,en,~fr"
    assert neg.available["multi-prefix"] == ""
    assert neg.available["sts"] == "duration=300,port=6697"
    feed(neg, ":irc CAP * ACK :multi-prefix sasl")
    assert neg.enabled == {"multi-prefix": "", "sasl": "PLAIN,EXTERNAL"}


def test_parse_cap_list() -> None:
    assert parse_cap_list(" a  b=1 c=x=y ") == {"a": "", "b": "1", "c": "x=y"}


def test_ack_then_cap_end() -> None:
    neg = CapNegotiator(tls=True)
    feed(neg, ":irc CAP * LS :multi-prefix server-time")
    actions = feed(neg, ":irc CAP me ACK :multi-prefix server-time")
    assert actions == [
        Send("CAP END"),
        NegotiationDone({"multi-prefix": "", "server-time": ""}),
    ]
    assert neg.is_enabled("server-time")


def test_nak_ends_negotiation() -> None:
    neg = CapNegotiator(tls=True)
    feed(neg, ":irc CAP * LS :multi-prefix")
    assert sent(feed(neg, ":irc CAP * NAK :multi-prefix")) == ["CAP END"]
    assert neg.enabled == {}


def test_nak_of_a_group_retries_one_by_one() -> None:
    neg = CapNegotiator(tls=True)
    feed(neg, ":irc CAP * LS :multi-prefix server-time")
    retry = sent(feed(neg, ":irc CAP * NAK :multi-prefix server-time"))
    assert sorted(retry) == ["CAP REQ :multi-prefix", "CAP REQ :server-time"]
    assert sent(feed(neg, ":irc CAP * NAK :multi-prefix")) == []
    actions = feed(neg, ":irc CAP * ACK :server-time")
    assert sent(actions) == ["CAP END"]
    assert neg.enabled == {"server-time": ""}


def test_long_request_is_split_to_fit_512_bytes() -> None:
    wanted = [f"vendor.example.org/capability-number-{i:03d}" for i in range(40)]
    neg = CapNegotiator(wanted, tls=True)
    actions = feed(neg, ":irc CAP * LS :" + " ".join(wanted))
    lines = sent(actions)
    assert len(lines) >= 2
    assert all(len(line.encode()) + 2 <= 512 for line in lines)
    assert requested(actions) == set(wanted)
    # CAP END only once every request has an answer
    for line in lines[:-1]:
        assert "CAP END" not in sent(feed(neg, ":irc CAP * ACK :" + line.split(":", 1)[1]))
    assert "CAP END" in sent(feed(neg, ":irc CAP * ACK :" + lines[-1].split(":", 1)[1]))
    assert set(neg.enabled) == set(wanted)


def test_server_without_cap_421() -> None:
    neg = CapNegotiator(tls=True)
    actions = feed(neg, ":irc 421 * CAP :Unknown command")
    assert actions == [Send("CAP END"), NegotiationDone({})]
    assert feed(neg, ":irc 421 me CAP :Unknown command", ":irc 001 me :Welcome") == []


def test_server_without_cap_451() -> None:
    neg = CapNegotiator(tls=True)
    assert sent(feed(neg, ":irc 451 * CAP :You have not registered")) == ["CAP END"]


def test_unrelated_421_is_ignored() -> None:
    neg = CapNegotiator(tls=True)
    assert feed(neg, ":irc 421 * FOO :Unknown command") == []
    assert not neg.done


def test_invalid_cap_command_410_ends() -> None:
    neg = CapNegotiator(tls=True)
    assert sent(feed(neg, ":irc 410 * LS :Invalid CAP command")) == ["CAP END"]


def test_welcome_straight_away_ends_once() -> None:
    neg = CapNegotiator(tls=True)
    actions = feed(neg, ":irc 001 me :Welcome", ":irc 002 me :Your host", ":irc 001 me :again")
    assert sent(actions) == ["CAP END"]
    assert sum(isinstance(a, NegotiationDone) for a in actions) == 1


def test_timeout_ends_once() -> None:
    neg = CapNegotiator(tls=True)
    assert sent(neg.timeout()) == ["CAP END"]
    assert neg.timeout() == []
    assert feed(neg, ":irc CAP * LS :") == []


# --- cap-notify -------------------------------------------------------------------


def registered(neg: CapNegotiator, caps: str) -> None:
    feed(neg, f":irc CAP * LS :{caps}")
    feed(neg, f":irc CAP * ACK :{caps}")
    assert neg.done


def test_cap_new_requests_wanted_caps() -> None:
    neg = CapNegotiator(tls=True)
    registered(neg, "cap-notify")
    actions = feed(neg, ":irc CAP me NEW :away-notify vendor/other")
    assert sent(actions) == ["CAP REQ :away-notify"]
    assert neg.available["vendor/other"] == ""
    assert feed(neg, ":irc CAP me ACK :away-notify") == [CapsChanged({"away-notify": ""})]
    assert neg.is_enabled("away-notify")


def test_cap_new_for_an_enabled_cap_updates_its_value() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl=PLAIN")
    feed(neg, ":irc CAP * ACK :sasl")
    neg.timeout()
    assert feed(neg, ":irc CAP me NEW :sasl=PLAIN,EXTERNAL") == []
    assert neg.enabled["sasl"] == "PLAIN,EXTERNAL"


def test_cap_del() -> None:
    neg = CapNegotiator(tls=True)
    registered(neg, "away-notify cap-notify")
    actions = feed(neg, ":irc CAP me DEL :away-notify")
    assert actions == [CapsChanged({}, frozenset({"away-notify"}))]
    assert not neg.is_enabled("away-notify")
    assert "away-notify" not in neg.available


def test_cap_del_sts_is_ignored() -> None:
    neg = CapNegotiator(tls=True)
    feed(neg, ":irc CAP * LS :sts=duration=10")
    assert feed(neg, ":irc CAP me DEL :sts") == []
    assert "sts" in neg.available


def test_ack_with_minus_disables() -> None:
    neg = CapNegotiator(tls=True)
    registered(neg, "multi-prefix")
    assert feed(neg, ":irc CAP me ACK :-multi-prefix") == [
        CapsChanged({}, frozenset({"multi-prefix"}))
    ]
    assert neg.enabled == {}


# --- STS --------------------------------------------------------------------------


def test_sts_on_plaintext_means_upgrade_and_no_cap_end() -> None:
    neg = CapNegotiator(tls=False)
    actions = feed(neg, ":irc CAP * LS :multi-prefix sts=port=6697,duration=300")
    assert actions == [StsUpgrade(6697)]
    assert neg.sts_upgrade
    assert feed(neg, ":irc 001 me :Welcome") == []
    assert neg.timeout() == []


def test_sts_without_port_on_plaintext_is_ignored() -> None:
    neg = CapNegotiator(tls=False)
    actions = feed(neg, ":irc CAP * LS :sts=duration=300")
    assert sent(actions) == ["CAP END"]
    assert not any(isinstance(a, StsUpgrade | StsPersist) for a in actions)


def test_sts_on_tls_is_a_persistence_policy() -> None:
    neg = CapNegotiator(tls=True)
    actions = feed(neg, ":irc CAP * LS :sts=port=6697,duration=300,preload multi-prefix")
    assert actions[0] == StsPersist(300, preload=True)
    assert requested(actions) == {"multi-prefix"}


def test_sts_duration_zero_on_tls_is_reported() -> None:
    neg = CapNegotiator(tls=True)
    assert feed(neg, ":irc CAP * LS :sts=duration=0")[0] == StsPersist(0)


def test_sts_in_cap_new_on_plaintext() -> None:
    neg = CapNegotiator(tls=False)
    registered(neg, "cap-notify")
    assert feed(neg, ":irc CAP me NEW :sts=port=6697") == [StsUpgrade(6697)]


# --- SASL inside negotiation -----------------------------------------------------


def test_sasl_plain_before_cap_end() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl=PLAIN,EXTERNAL multi-prefix")
    assert sent(feed(neg, ":irc CAP * ACK :multi-prefix sasl")) == ["AUTHENTICATE PLAIN"]
    payload = base64.b64encode(b"jilles\0jilles\0sesame").decode()
    assert sent(feed(neg, "AUTHENTICATE +")) == [f"AUTHENTICATE {payload}"]
    assert feed(neg, ":irc 900 me me!u@h jilles :You are now logged in") == []
    actions = feed(neg, ":irc 903 me :SASL authentication successful")
    assert actions == [
        SaslSuccess("PLAIN", "jilles"),
        Send("CAP END"),
        NegotiationDone({"multi-prefix": "", "sasl": "PLAIN,EXTERNAL"}),
    ]


def test_sasl_failure_still_ends() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl", ":irc CAP * ACK :sasl", "AUTHENTICATE +")
    actions = feed(neg, ":irc 904 me :SASL authentication failed")
    assert isinstance(actions[0], SaslFailure)
    assert actions[0].kind is SaslFailureKind.BAD_CREDENTIALS
    assert sent(actions) == ["CAP END"]
    assert feed(neg, ":irc 906 me :aborted") == []


def test_sasl_mechanism_not_offered_skips_to_cap_end() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl=EXTERNAL")
    actions = feed(neg, ":irc CAP * ACK :sasl")
    assert sent(actions) == ["CAP END"]
    failure = actions[0]
    assert isinstance(failure, SaslFailure)
    assert failure.kind is SaslFailureKind.MECHANISM_UNAVAILABLE
    assert neg.enabled == {"sasl": "EXTERNAL"}


def test_sasl_nak_ends_without_authenticating() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl")
    assert sent(feed(neg, ":irc CAP * NAK :sasl")) == ["CAP END"]


def test_sasl_timeout_aborts_then_ends() -> None:
    neg = CapNegotiator(tls=True, sasl=PLAIN)
    feed(neg, ":irc CAP * LS :sasl", ":irc CAP * ACK :sasl")
    actions = neg.timeout()
    assert sent(actions) == ["AUTHENTICATE *", "CAP END"]
    assert isinstance(actions[1], SaslFailure)
    assert actions[1].kind is SaslFailureKind.ABORTED


def test_sasl_offered_but_not_configured_is_not_requested() -> None:
    neg = CapNegotiator(SUPPORTED_CAPS, tls=True)
    assert sent(feed(neg, ":irc CAP * LS :sasl=PLAIN")) == ["CAP END"]


# --- whatever the server does, CAP END is sent exactly once ---------------------

SERVER_LINES = [
    ":irc CAP * LS * :multi-prefix sasl=PLAIN",
    ":irc CAP * LS :server-time sts=duration=60",
    ":irc CAP * LS :",
    ":irc CAP * LS :sasl=EXTERNAL",
    ":irc CAP * LS :sasl sts=port=6697,duration=60",
    ":irc CAP * ACK :multi-prefix sasl server-time",
    ":irc CAP * ACK :sasl",
    ":irc CAP * NAK :multi-prefix sasl server-time",
    ":irc CAP * NAK :sasl",
    ":irc CAP me NEW :away-notify",
    ":irc CAP me DEL :sasl",
    "AUTHENTICATE +",
    "AUTHENTICATE Zm9v",
    ":irc 900 me me!u@h jilles :logged in",
    ":irc 903 me :success",
    ":irc 904 me :failed",
    ":irc 906 me :aborted",
    ":irc 908 me EXTERNAL :mechanisms",
    ":irc 421 me CAP :Unknown command",
    ":irc 410 me REQ :Invalid CAP command",
    ":irc 001 me :Welcome",
    ":irc NOTICE * :*** Looking up your hostname",
]


@settings(max_examples=300, deadline=None)
@given(
    script=st.lists(st.sampled_from(SERVER_LINES), max_size=12),
    with_sasl=st.booleans(),
    tls=st.booleans(),
)
def test_cap_end_exactly_once_whatever_happens(
    script: list[str], with_sasl: bool, tls: bool
) -> None:
    neg = CapNegotiator(tls=tls, sasl=PLAIN if with_sasl else None)
    actions = [*feed(neg, *script), *neg.timeout()]
    upgrades = [a for a in actions if isinstance(a, StsUpgrade)]
    if upgrades:
        # the one path without CAP END, unless negotiation had already ended:
        # registration must not be completed in the clear
        assert not tls
        assert upgrades == [StsUpgrade(6697)]
        assert actions[-1] == StsUpgrade(6697)  # nothing after the upgrade
        assert sent(actions).count("CAP END") <= 1
        return
    assert sent(actions).count("CAP END") == 1
    assert sum(isinstance(a, NegotiationDone) for a in actions) == 1
    # the SASL outcome, when there is one, comes before CAP END and only once
    outcomes = [i for i, a in enumerate(actions) if isinstance(a, SaslSuccess | SaslFailure)]
    assert len(outcomes) <= 1
    if outcomes:
        assert outcomes[0] < actions.index(Send("CAP END"))


def test_empty_ack_enables_nothing() -> None:
    neg = CapNegotiator(tls=True)
    feed(neg, ":irc CAP * LS :multi-prefix")
    assert sent(feed(neg, ":irc CAP * ACK")) == ["CAP END"]
    assert neg.enabled == {}
