"""STS against the scripted server: a plaintext offer upgrades to TLS without
completing registration in the clear, a TLS offer persists the policy, later
runs go straight to TLS, and a certificate that fails verification is fatal,
never a reason to fall back to plaintext."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from backchannel.irc.client import EngineFailure
from backchannel.irc.status import StsApplied
from backchannel.irc.sts_store import StsStore
from backchannel.protocol.sts import StsPolicy
from tests.irc.engine_helpers import SERVER, Cert, config, make_self_signed, negotiate, running
from tests.support.fakeircd import FakeIrcServer


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_self_signed(tmp_path_factory.mktemp("cert"))


async def test_plaintext_offer_upgrades_to_tls_and_tls_offer_persists(
    tmp_path: Path, cert: Cert
) -> None:
    store = tmp_path / "sts.json"
    async with FakeIrcServer(ssl=cert.server_context()) as secure, FakeIrcServer() as plain:
        cfg = config(plain.port, fingerprint=cert.fingerprint)
        async with running(cfg, sts=StsStore(store)) as eng:
            fc = await plain.accept()
            await fc.expect("CAP LS 302")
            await fc.expect("USER ")
            fc.send(f":{SERVER} CAP * LS :multi-prefix sts=port={secure.port},duration=300")
            await fc.drain()
            tls = await secure.accept()
            await fc.closed.wait()
            # registration never completed in the clear
            assert "CAP END" not in fc.received
            assert not any(line.startswith("CAP REQ") for line in fc.received)
            # the duration seen on plaintext is ignored: nothing persisted yet
            assert not store.exists()
            upgrade = eng.of(StsApplied)
            assert [(e.port, e.upgrade) for e in upgrade] == [(secure.port, True)]

            await negotiate(tls, "multi-prefix sts=duration=300")
            await eng.wait_status("registered")
            connecting = eng.statuses("connecting")
            assert [(s.port, s.tls) for s in connecting] == [
                (plain.port, False),
                (secure.port, True),
            ]
            assert not eng.statuses("disconnected")  # an upgrade is not a failure
            data = json.loads(store.read_text())
            [policy] = [StsPolicy.from_dict(item) for item in data["policies"]]
            assert (policy.host, policy.port, policy.duration) == ("127.0.0.1", secure.port, 300)
            assert any(not e.upgrade and e.duration == 300 for e in eng.of(StsApplied))

        # the next run with the same data file goes straight to TLS
        async with running(cfg, sts=StsStore(store)) as eng2:
            tls2 = await secure.accept()
            await negotiate(tls2, "")
            await eng2.wait_status("registered")
            assert [(s.port, s.tls) for s in eng2.statuses("connecting")] == [(secure.port, True)]
        assert len(plain.clients) == 1


async def test_sts_upgrade_with_an_untrusted_certificate_is_fatal(cert: Cert) -> None:
    async with FakeIrcServer(ssl=cert.server_context()) as secure, FakeIrcServer() as plain:
        cfg = config(plain.port)  # verification on, no pin: the self-signed cert fails
        async with running(cfg) as eng:
            fc = await plain.accept()
            await fc.expect("CAP LS 302")
            fc.send(f":{SERVER} CAP * LS :sts=port={secure.port}")
            error = await eng.outcome()
            assert isinstance(error, EngineFailure)
            assert "TLS verification failed" in str(error)
            assert [(s.port, s.tls) for s in eng.statuses("connecting")] == [
                (plain.port, False),
                (secure.port, True),
            ]
            assert eng.statuses("failed")[-1].tls
        assert len(plain.clients) == 1  # never back to plaintext
        assert "CAP END" not in plain.clients[0].received


async def test_a_stored_policy_with_a_bad_pin_never_falls_back(tmp_path: Path, cert: Cert) -> None:
    store_path = tmp_path / "sts.json"
    async with FakeIrcServer(ssl=cert.server_context()) as secure, FakeIrcServer() as plain:
        store = StsStore(store_path)
        policy = StsPolicy.from_duration("127.0.0.1", secure.port, 300, time.time())
        assert policy is not None
        store.put(policy)
        cfg = config(plain.port, fingerprint="00" * 32)
        async with running(cfg, sts=StsStore(store_path)) as eng:
            error = await eng.outcome()
            assert isinstance(error, EngineFailure)
            assert "TLS verification failed" in str(error)
            assert "does not match" in str(error)
        assert plain.clients == []


async def test_sts_on_tls_with_duration_zero_removes_the_policy(tmp_path: Path, cert: Cert) -> None:
    store_path = tmp_path / "sts.json"
    async with FakeIrcServer(ssl=cert.server_context()) as secure:
        store = StsStore(store_path)
        policy = StsPolicy.from_duration("127.0.0.1", secure.port, 300, time.time())
        assert policy is not None
        store.put(policy)
        cfg = config(1, tls_verify=False)  # port 1: only the policy leads to the server
        async with running(cfg, sts=StsStore(store_path)) as eng:
            tls = await secure.accept()
            await negotiate(tls, "sts=duration=0")
            await eng.wait_status("registered")
        assert json.loads(store_path.read_text())["policies"] == []


async def test_sts_offered_later_by_cap_new_also_upgrades(cert: Cert) -> None:
    async with (
        FakeIrcServer(ssl=cert.server_context()) as secure,
        FakeIrcServer() as plain,
        running(config(plain.port, tls_verify=False)) as eng,
    ):
        fc = await plain.accept()
        await negotiate(fc, "cap-notify")
        await eng.wait_status("registered")
        fc.send(f":{SERVER} CAP me NEW :sts=port={secure.port},duration=300")
        tls = await secure.accept()
        await fc.closed.wait()
        await negotiate(tls, "")
        await eng.wait_status("registered", 2)
        assert [s.tls for s in eng.statuses("connecting")] == [False, True]


async def test_with_a_policy_an_unreachable_tls_port_is_retried_never_plaintext(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "sts.json"
    async with FakeIrcServer() as closed:
        dead_port = closed.port  # free once this server has stopped
    async with FakeIrcServer() as plain:
        policy = StsPolicy.from_duration("127.0.0.1", dead_port, 300, time.time())
        assert policy is not None
        StsStore(store_path).put(policy)
        async with running(config(plain.port), sts=StsStore(store_path)) as eng:
            await eng.wait_status("disconnected", 3)
            assert all(s.tls and s.port == dead_port for s in eng.statuses("connecting"))
            assert eng.task is not None and not eng.task.done()
        assert plain.clients == []
