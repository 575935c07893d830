"""SASL over IRC: chunking, PLAIN, EXTERNAL, SCRAM-SHA-256 and the numerics.

Scenarios follow the irctest client suite; the SCRAM server side is scramp's
own server API, so the client is checked against an independent peer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from scramp import ScramException, ScramMechanism  # type: ignore[import-untyped]

from backchannel.protocol.message import parse
from backchannel.protocol.sasl import (
    SaslConfig,
    SaslFailure,
    SaslFailureKind,
    SaslSession,
    SaslSuccess,
    encode_authenticate,
    parse_mechanisms,
)


def feed(session: SaslSession, line: str) -> list[str]:
    return session.feed(parse(line))


def payload_of(lines: list[str]) -> bytes:
    """Reassemble a client payload independently of the code under test."""
    assert lines, "the client sent nothing"
    chunks = []
    for line in lines:
        verb, _, arg = line.partition(" ")
        assert verb == "AUTHENTICATE"
        assert len(arg) <= 400
        chunks.append(arg)
    for chunk in chunks[:-1]:
        assert len(chunk) == 400, "only the last chunk may be short"
    if chunks[-1] == "+":
        chunks.pop()
    else:
        assert len(chunks[-1]) < 400, "a payload ending on 400 bytes needs a final '+'"
    return base64.b64decode("".join(chunks))


def server_lines(payload: bytes) -> list[str]:
    encoded = base64.b64encode(payload).decode()
    chunks = [encoded[i : i + 400] for i in range(0, len(encoded), 400)]
    if not chunks or len(chunks[-1]) == 400:
        chunks.append("+")
    return [f":irc.example.org AUTHENTICATE {chunk}" for chunk in chunks]


def plain(account: str = "jilles", password: str = "sesame") -> SaslSession:
    return SaslSession(SaslConfig("PLAIN", account, password))


# --- encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunks"),
    [(0, ["+"]), (3, ["4"]), (300, ["400", "+"]), (301, ["400", "4"]), (600, ["400", "400", "+"])],
)
def test_encode_authenticate_chunking(size: int, chunks: list[str]) -> None:
    lines = encode_authenticate(b"x" * size)
    args = [line.removeprefix("AUTHENTICATE ") for line in lines]
    assert [a if a == "+" else str(len(a)) for a in args] == chunks
    assert payload_of(lines) == b"x" * size


def test_parse_mechanisms() -> None:
    assert parse_mechanisms("PLAIN,external, SCRAM-SHA-256") == frozenset(
        {"PLAIN", "EXTERNAL", "SCRAM-SHA-256"}
    )
    assert parse_mechanisms("") is None
    assert parse_mechanisms(None) is None


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SaslConfig("DIGEST-MD5", "a", "b")
    with pytest.raises(ValueError):
        SaslConfig("PLAIN", "a", "")
    assert "hunter2" not in repr(SaslConfig("PLAIN", "a", "hunter2"))
    SaslConfig("EXTERNAL")


# --- PLAIN ----------------------------------------------------------------------


def test_plain_success() -> None:
    session = plain()
    assert session.start({"PLAIN", "EXTERNAL"}) == ["AUTHENTICATE PLAIN"]
    assert feed(session, "AUTHENTICATE +") == ["AUTHENTICATE amlsbGVzAGppbGxlcwBzZXNhbWU="]
    assert not session.done
    assert feed(session, ":irc 900 * * jilles :You are now logged in as jilles") == []
    assert not session.done
    feed(session, ":irc 903 * :SASL authentication successful")
    assert session.result == SaslSuccess("PLAIN", "jilles")


def test_plain_without_mechanism_list_just_tries() -> None:
    assert plain().start(None) == ["AUTHENTICATE PLAIN"]


def test_plain_not_offered_aborts_without_sending() -> None:
    session = plain()
    assert session.start({"EXTERNAL"}) == []
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.MECHANISM_UNAVAILABLE
    assert "EXTERNAL" in session.result.reason
    assert feed(session, "AUTHENTICATE +") == []  # nothing more once finished


def test_plain_large_payload_is_chunked() -> None:
    session = SaslSession(SaslConfig("PLAIN", "foo", "bar" * 200))
    session.start(None)
    expected = base64.b64encode(b"foo\0foo\0" + b"bar" * 200).decode()
    lines = feed(session, "AUTHENTICATE +")
    assert lines == [
        f"AUTHENTICATE {expected[:400]}",
        f"AUTHENTICATE {expected[400:800]}",
        f"AUTHENTICATE {expected[800:]}",
    ]


def test_plain_payload_of_exactly_800_ends_with_plus() -> None:
    session = SaslSession(SaslConfig("PLAIN", "foo", "quux" * 148))
    session.start(None)
    expected = base64.b64encode(b"foo\0foo\0" + b"quux" * 148).decode()
    assert len(expected) == 800
    assert feed(session, "AUTHENTICATE +") == [
        f"AUTHENTICATE {expected[:400]}",
        f"AUTHENTICATE {expected[400:]}",
        "AUTHENTICATE +",
    ]


def test_plain_utf8_credentials() -> None:
    session = plain("jösé", "pässwörd")
    session.start(None)
    assert payload_of(feed(session, "AUTHENTICATE +")) == "jösé\0jösé\0pässwörd".encode()


def test_plain_unexpected_second_challenge_aborts() -> None:
    session = plain()
    session.start(None)
    feed(session, "AUTHENTICATE +")
    assert feed(session, "AUTHENTICATE Zm9v") == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.PROTOCOL_ERROR


def test_invalid_base64_from_server_aborts() -> None:
    session = plain()
    session.start(None)
    assert feed(session, "AUTHENTICATE !!!!") == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.PROTOCOL_ERROR


def test_endless_server_payload_aborts() -> None:
    session = plain()
    session.start(None)
    chunk = "QUFB" * 100  # 400 characters: "more to come"
    replies = [feed(session, f"AUTHENTICATE {chunk}") for _ in range(100)]
    assert ["AUTHENTICATE *"] in replies
    assert isinstance(session.result, SaslFailure)


# --- EXTERNAL -------------------------------------------------------------------


def test_external() -> None:
    session = SaslSession(SaslConfig("EXTERNAL"))
    assert session.start({"EXTERNAL"}) == ["AUTHENTICATE EXTERNAL"]
    assert feed(session, "AUTHENTICATE +") == ["AUTHENTICATE +"]
    feed(session, ":irc 900 me me!u@h certuser :You are now logged in as certuser")
    feed(session, ":irc 903 me :SASL authentication successful")
    assert session.result == SaslSuccess("EXTERNAL", "certuser")


# --- numerics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numeric", "kind"),
    [
        ("904", SaslFailureKind.BAD_CREDENTIALS),
        ("905", SaslFailureKind.TOO_LONG),
        ("902", SaslFailureKind.NICK_LOCKED),
        ("906", SaslFailureKind.ABORTED),
        ("907", SaslFailureKind.ALREADY_AUTHENTICATED),
    ],
)
def test_failure_numerics(numeric: str, kind: SaslFailureKind) -> None:
    session = plain()
    session.start(None)
    feed(session, "AUTHENTICATE +")
    feed(session, f":irc {numeric} me :it went wrong")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is kind
    assert numeric in session.result.reason
    feed(session, ":irc 903 me :SASL authentication successful")
    assert isinstance(session.result, SaslFailure)  # the first outcome stands


def test_908_then_904_means_mechanism_unavailable() -> None:
    session = plain()
    session.start(None)
    feed(session, ":irc 908 me EXTERNAL,SCRAM-SHA-256 :are available SASL mechanisms")
    feed(session, ":irc 904 me :SASL authentication failed")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.MECHANISM_UNAVAILABLE
    assert session.result.server_mechanisms == ("EXTERNAL", "SCRAM-SHA-256")


def test_908_listing_our_mechanism_then_904_is_bad_credentials() -> None:
    session = plain()
    session.start(None)
    feed(session, ":irc 908 me PLAIN,EXTERNAL :are available SASL mechanisms")
    feed(session, ":irc 904 me :SASL authentication failed")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.BAD_CREDENTIALS


def test_abort_on_timeout() -> None:
    session = plain()
    assert session.abort() == []  # not started: nothing to abort
    session.start(None)
    assert session.abort() == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.ABORTED
    assert session.abort() == []


def test_ignores_messages_before_start() -> None:
    session = plain()
    assert feed(session, "AUTHENTICATE +") == []
    feed(session, ":irc 903 me :SASL authentication successful")
    assert session.result is None


# --- SCRAM-SHA-256 --------------------------------------------------------------

MECH = ScramMechanism("SCRAM-SHA-256")
ACCOUNT = "user"
PASSWORD = "pencil"


def auth_db(password: str = PASSWORD, server_password: str | None = None) -> Callable[[str], Any]:
    """scramp's auth_fn; ``server_password`` forges the ServerKey (a server
    that knows StoredKey but not the password, e.g. a stolen database)."""
    salt, stored_key, server_key, iterations = MECH.make_auth_info(password, iteration_count=4096)
    if server_password is not None:
        _, _, server_key, _ = MECH.make_auth_info(server_password, iteration_count=4096, salt=salt)
    return lambda username: (salt, stored_key, server_key, iterations)


def scram_client(password: str = PASSWORD) -> tuple[SaslSession, bytes]:
    """Start a SCRAM session; return it and its client-first message."""
    session = SaslSession(SaslConfig("SCRAM-SHA-256", ACCOUNT, password))
    assert session.start({"PLAIN", "SCRAM-SHA-256"}) == ["AUTHENTICATE SCRAM-SHA-256"]
    client_first = payload_of(feed(session, "AUTHENTICATE +"))
    assert client_first.startswith(b"n,,n=user,r=")
    return session, client_first


def send_payload(session: SaslSession, payload: bytes) -> list[str]:
    out: list[str] = []
    for line in server_lines(payload):
        out.extend(feed(session, line))
    return out


def test_scram_success() -> None:
    session, client_first = scram_client()
    server = MECH.make_server(auth_db())
    server.set_client_first(client_first.decode())
    client_final = payload_of(send_payload(session, server.get_server_first().encode()))
    server.set_client_final(client_final.decode())
    assert send_payload(session, server.get_server_final().encode()) == ["AUTHENTICATE +"]
    assert not session.done
    feed(session, ":irc 900 me me!u@h user :You are now logged in as user")
    feed(session, ":irc 903 me :SASL authentication successful")
    assert session.result == SaslSuccess("SCRAM-SHA-256", "user")


def test_scram_bad_password_server_says_904() -> None:
    session, client_first = scram_client(password="wrong")
    server = MECH.make_server(auth_db())
    server.set_client_first(client_first.decode())
    client_final = payload_of(send_payload(session, server.get_server_first().encode()))
    with pytest.raises(ScramException):  # scramp's server rejects the proof
        server.set_client_final(client_final.decode())
    feed(session, ":irc 904 me :SASL authentication failed")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.BAD_CREDENTIALS


def test_scram_bad_password_server_final_error() -> None:
    session, client_first = scram_client(password="wrong")
    server = MECH.make_server(auth_db())
    server.set_client_first(client_first.decode())
    client_final = payload_of(send_payload(session, server.get_server_first().encode()))
    with pytest.raises(ScramException):
        server.set_client_final(client_final.decode())
    server_final = server.get_server_final()
    assert server_final.startswith("e=")
    assert send_payload(session, server_final.encode()) == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.BAD_CREDENTIALS


def test_scram_malicious_server_signature_fails() -> None:
    session, client_first = scram_client()
    server = MECH.make_server(auth_db(server_password="not the password"))
    server.set_client_first(client_first.decode())
    client_final = payload_of(send_payload(session, server.get_server_first().encode()))
    server.set_client_final(client_final.decode())  # the proof itself is fine
    assert send_payload(session, server.get_server_final().encode()) == ["AUTHENTICATE *"]
    feed(session, ":irc 900 me me!u@h user :You are now logged in as user")
    feed(session, ":irc 903 me :SASL authentication successful")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.SERVER_NOT_VERIFIED


def test_scram_success_without_server_proof_fails() -> None:
    session, client_first = scram_client()
    server = MECH.make_server(auth_db())
    server.set_client_first(client_first.decode())
    send_payload(session, server.get_server_first().encode())
    feed(session, ":irc 903 me :SASL authentication successful")
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.SERVER_NOT_VERIFIED


def test_scram_wrong_nonce_aborts() -> None:
    session, _ = scram_client()
    server_first = b"r=someone-elses-nonce,s=QSXCR+Q6sek8bf92,i=4096"
    assert send_payload(session, server_first) == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert session.result.kind is SaslFailureKind.PROTOCOL_ERROR


@pytest.mark.parametrize("iterations", [1, 4095, 10_000_000])
def test_scram_refuses_weak_or_huge_iteration_counts(iterations: int) -> None:
    session, client_first = scram_client()
    nonce = client_first.decode().split("r=")[1]
    server_first = f"r={nonce}srv,s=QSXCR+Q6sek8bf92,i={iterations}".encode()
    assert send_payload(session, server_first) == ["AUTHENTICATE *"]
    assert isinstance(session.result, SaslFailure)
    assert "iteration" in session.result.reason


@pytest.mark.parametrize("target", [400, 800, 600])
def test_scram_server_message_in_several_chunks(target: int) -> None:
    """A server-first long enough to be chunked, including the case of an
    encoding that ends exactly on a chunk boundary (then a final '+')."""
    session, client_first = scram_client()
    auth_fn = auth_db()
    salt = base64.b64encode(auth_fn(ACCOUNT)[0]).decode()
    bare = f"r={client_first.decode().split('r=')[1]},s={salt},i=4096"
    # base64 of target*3/4 bytes is exactly target characters long
    s_nonce = "x" * (target * 3 // 4 - len(bare))
    server = MECH.make_server(auth_fn, s_nonce=s_nonce)
    server.set_client_first(client_first.decode())
    server_first = server.get_server_first().encode()
    assert len(base64.b64encode(server_first)) == target
    lines = server_lines(server_first)
    assert len(lines) == target // 400 + 1
    assert lines[-1].endswith(" +") == (target % 400 == 0)
    for line in lines[:-1]:
        assert feed(session, line) == []  # waits for the rest
    client_final = payload_of(feed(session, lines[-1]))
    server.set_client_final(client_final.decode())
    assert send_payload(session, server.get_server_final().encode()) == ["AUTHENTICATE +"]
    feed(session, ":irc 903 me :SASL authentication successful")
    assert isinstance(session.result, SaslSuccess)


def test_scram_900_alone_does_not_finish() -> None:
    session, _ = scram_client()
    feed(session, ":irc 900 me me!u@h user :You are now logged in as user")
    assert session.result is None
    assert session.account == "user"
