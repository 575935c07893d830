"""Settings from defaults, TOML, environment and flags, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from backchannel.settings import (
    SETTINGS,
    Settings,
    SettingsError,
    load_settings,
    settings_markdown,
)


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.poll_timeout == 30
    assert settings.idle_timeout == 120
    assert settings.public is False


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "bc.toml"
    config.write_text(
        'port = 9000\npoll_timeout = 5\npublic = true\nallowed_servers = ["irc.example.org:6697"]\n'
        "buffer-events = 42\n"
    )
    env = {"BACKCHANNEL_PORT": "9001", "BACKCHANNEL_IDLE_TIMEOUT": "7.5"}
    settings = load_settings(config, env=env, overrides={"port": "9002"})
    assert settings.port == 9002
    assert settings.idle_timeout == 7.5
    assert settings.poll_timeout == 5
    assert settings.public is True
    assert settings.buffer_events == 42
    assert settings.allowed_servers == ("irc.example.org:6697",)


def test_env_lists_and_bools() -> None:
    settings = load_settings(
        env={
            "BACKCHANNEL_ALLOWED_SERVERS": "a.example, b.example:7000",
            "BACKCHANNEL_PUBLIC": "yes",
        }
    )
    assert settings.allowed_servers == ("a.example", "b.example:7000")
    assert settings.public is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": "http"}, "port"),
        ({"port": "70000"}, "port"),
        ({"poll_timeout": "-1"}, "poll_timeout"),
        ({"poll_timeout": "0"}, "poll_timeout"),
        ({"public": "maybe"}, "public"),
        ({"allowed_servers": ["bad host"]}, "bad host"),
        ({"allowed_ports": "9-1"}, "range"),
        ({"no_such": 1}, "no_such"),
    ],
)
def test_bad_values_are_clear_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env={}, overrides=overrides)


def test_bad_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = [")
    with pytest.raises(SettingsError, match="invalid TOML"):
        load_settings(config, env={})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", env={})


def test_every_field_is_declared_once() -> None:
    declared = [s.name for s in SETTINGS]
    assert sorted(declared) == sorted(Settings.__dataclass_fields__)
    assert len(set(declared)) == len(declared)


def test_configuration_docs_list_every_setting() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert settings_markdown() in docs.read_text(encoding="utf-8"), (
        "docs/configuration.md is out of date: paste backchannel.settings.settings_markdown()"
    )


def test_some_limits_default_by_mode_and_an_explicit_value_wins() -> None:
    private = load_settings(env={})
    public = load_settings(env={}, overrides={"public": True})
    assert (private.max_networks, private.max_channels, private.max_stored_bytes) == (50, 500, 0)
    assert (public.max_networks, public.max_channels, public.max_stored_bytes) == (
        3,
        20,
        16 * 1024 * 1024,
    )
    chosen = load_settings(
        env={"BACKCHANNEL_MAX_NETWORKS": "7"},
        overrides={"public": True, "max_channels": 0, "max_stored_bytes": 1024},
    )
    assert (chosen.max_networks, chosen.max_channels, chosen.max_stored_bytes) == (7, 0, 1024)
    with pytest.raises(SettingsError, match="max_networks"):
        load_settings(env={}, overrides={"max_networks": -1})  # the sentinel is not a value
