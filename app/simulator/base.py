"""The pieces every simulated notification is made of: Meta's byte format and signature, the
simulated WABAs, and the helpers the per-field builders share."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.simulator import values as v

JSON = dict[str, Any]


def meta_json_bytes(payload: object) -> bytes:
    """Serialise like Meta: compact, ASCII only (``\\u00e9``), slashes escaped (``\\/``)."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # "/" can only occur inside JSON strings, so this never touches the structure.
    return text.replace("/", "\\/").encode("ascii")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SimPhone:
    digits: str  # E.164 digits, no "+"
    phone_number_id: str


@dataclass(frozen=True)
class SimWaba:
    """A WABA as the simulator sees it: stable numbers and business ids derived from the WABA id."""

    waba_id: str
    owner_business_id: str
    partner_business_id: str
    phones: tuple[SimPhone, ...]

    @classmethod
    def for_id(cls, waba_id: str) -> SimWaba:
        rng = random.Random(f"waba:{waba_id}")
        phones = tuple(
            SimPhone(digits=v.phone_digits(rng), phone_number_id=v.numeric_id(rng)) for _ in range(2)
        )
        return cls(waba_id, v.numeric_id(rng), v.numeric_id(rng), phones)


@dataclass(frozen=True)
class Change:
    entry_id: str
    field: str
    value: JSON
    has_time: bool = True  # messages-family payloads omit entry.time


class FactoryBase:
    """Randomness, the clock, and small helpers shared by the field builders."""

    def __init__(self, rng: random.Random | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.rng = rng or random.Random()
        self._now = now or (lambda: datetime.now(UTC))

    def unix(self) -> int:
        return int(self._now().timestamp())

    def pick(self, options: Sequence[Any], weights: Sequence[int] | None = None) -> Any:
        return self.rng.choices(list(options), weights=weights)[0]

    def phone(self, waba: SimWaba) -> SimPhone:
        phone: SimPhone = self.rng.choice(waba.phones)
        return phone

    def wamid(self) -> str:
        raw = "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(40))
        return "wamid.HBgL" + raw + "=="

    def metadata(self, phone: SimPhone) -> JSON:
        return {"display_phone_number": phone.digits, "phone_number_id": phone.phone_number_id}

    def template_id(self) -> int:
        return self.rng.randint(10**15, 10**16 - 1)

    def template(self) -> tuple[str, str, str]:
        name, category = self.pick(v.TEMPLATES)
        return name, self.pick(v.LANGUAGES), category

    def messaging_value(self, waba: SimWaba) -> tuple[SimPhone, JSON]:
        phone = self.phone(waba)
        return phone, {"messaging_product": "whatsapp", "metadata": self.metadata(phone)}
