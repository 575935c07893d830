"""STS policies learned from servers, kept in a JSON file in the data dir so
they survive restarts (rewritten atomically: see :mod:`backchannel.atomic`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from backchannel.atomic import write_atomic
from backchannel.protocol.sts import StsPolicy, normalize_host

__all__ = ["StsStore"]

log = logging.getLogger(__name__)


class StsStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._policies: dict[str, StsPolicy] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for item in data.get("policies", []):
                policy = StsPolicy.from_dict(item)
                self._policies[normalize_host(policy.host)] = policy
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable STS policy file %s: %s", path, exc)

    def get(self, host: str, now: float) -> StsPolicy | None:
        policy = self._policies.get(normalize_host(host))
        return policy if policy is not None and policy.is_active(now) else None

    def put(self, policy: StsPolicy) -> None:
        self._policies[normalize_host(policy.host)] = policy
        self._save()

    def remove(self, host: str) -> None:
        if self._policies.pop(normalize_host(host), None) is not None:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"policies": [p.to_dict() for p in self._policies.values()]})
        write_atomic(self.path, payload.encode("utf-8"))
