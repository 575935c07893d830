"""The compact state records: member lists and user tables that behave like
an ``IRCDict`` but hold only shared (interned) strings."""

from __future__ import annotations

from backchannel.protocol.casemap import ASCII, RFC1459, IRCDict
from backchannel.state.model import Channel, Members, User, Users


def _fresh(text: str) -> str:
    """An equal string that is a distinct object (as parsing a line makes)."""
    return "".join(list(text))


def test_members_are_keyed_by_the_casemap_and_keep_the_display_spelling() -> None:
    members = Members(RFC1459, {"Alice": "o", "bob[1]": ""})
    assert members["ALICE"] == "o" and members["BOB{1}"] == ""
    assert list(members) == ["Alice", "bob[1]"]
    assert dict(members) == {"Alice": "o", "bob[1]": ""}
    assert list(members.items()) == [("Alice", "o"), ("bob[1]", "")]
    assert members.display("alice") == "Alice" and "bob{1}" in members
    members["alice"] = "ov"  # a new spelling replaces the old one, in place
    assert list(members.items()) == [("alice", "ov"), ("bob[1]", "")]
    members.rename("ALICE", "Carol")
    assert dict(members) == {"bob[1]": "", "Carol": "ov"}
    assert members.pop("carol") == "ov" and len(members) == 1
    del members["BOB[1]"]
    assert not members and members.get("x") is None


def test_members_follow_a_new_casemapping() -> None:
    members = Members(RFC1459, {"a[": "", "A{": "v"})
    assert list(members.items()) == [("A{", "v")]  # equal under rfc1459: the later wins
    members = Members(ASCII, {"a[": "", "a{": "v"})
    members.set_casemap(RFC1459)
    assert members.casemap is RFC1459 and dict(members) == {"a{": "v"}


def test_member_names_are_shared_between_channels() -> None:
    one, two = Members(RFC1459), Members(RFC1459)
    one[_fresh("SomeNick")] = ""
    two[_fresh("SomeNick")] = "o"
    assert next(iter(one)) is next(iter(two))


def test_a_channel_takes_any_mapping_assigned_to_it_as_members() -> None:
    channel = Channel.new("#chan", ASCII)
    assert isinstance(channel.members, Members) and channel.pending_names is None
    channel.pending_names = IRCDict(ASCII, {"Zed": "o"})
    assert isinstance(channel.pending_names, Members)
    channel.pending_names["amy"] = ""
    channel.members = channel.pending_names
    assert dict(channel.members) == {"Zed": "o", "amy": ""}
    assert channel.members.casemap is ASCII
    channel.pending_names = None
    assert channel.pending_names is None


def test_users_noted_by_nick_only_become_users_when_looked_up() -> None:
    me = User("me")
    users = Users(RFC1459, {"me": me})
    users.note(_fresh("Alice"))
    users.note("bob", "~b", "b.host")
    assert len(users) == 3 and list(users) == ["me", "Alice", "bob"]
    assert "ALICE" in users and users.display("alice") == "Alice"
    assert users["me"] is me
    assert (users["BOB"].user, users["BOB"].host) == ("~b", "b.host")
    alice = users["alice"]
    alice.away = "gone"  # what a handler changes on the user is kept
    assert users["Alice"] is alice and users["alice"].away == "gone"
    users.note("alice")  # noting again keeps what is known
    users.note("alice", None, "new.host")
    assert users["alice"] is alice and alice.host == "new.host"
    assert users.get("nobody") is None


def test_users_rename_and_casemapping() -> None:
    users = Users(ASCII)
    users.note("a[")
    users.note("b")
    users.rename("A[", "c")
    assert "a[" not in users and "C" in users and users["c"].nick == "c"
    users.note("x[")
    users.set_casemap(RFC1459)
    assert "X{" in users and "B" in users and users.display("x{") == "x["
    assert users.pop("b").nick == "b" and list(users) == ["c", "x["]
    users.clear()
    assert not users


def test_user_strings_are_interned() -> None:
    one, two = User(_fresh("nick")), User(_fresh("nick"))
    one.update_mask(_fresh("~u"), _fresh("some.host"))
    two.update_mask(_fresh("~u"), _fresh("some.host"))
    assert one.nick is two.nick and one.user is two.user and one.host is two.host
