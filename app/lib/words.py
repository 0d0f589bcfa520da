"""Values as a person reads them: never a Python value (``None``, ``True``, a list's brackets) on
a page, and a browser named the way its user knows it instead of its User-Agent string."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from ua_parser import parse


def plain(value: object) -> str:
    """``None`` is "—", booleans are "yes"/"no", lists are comma-separated, mappings "key: value"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain(item) for item in value) if value else "—"
    return str(value)


@lru_cache(maxsize=1024)
def browser_name(user_agent: str | None) -> str:
    """A browser as its user knows it, such as "Chrome 131 on Mac OS X 10.15"; "an unknown browser"
    when the string names none (a script's, or nothing)."""
    if not user_agent:
        return "an unknown browser"
    found = parse(user_agent)
    agent, system = found.user_agent, found.os
    if agent is None:
        return "an unknown browser"
    name = f"{agent.family} {agent.major}" if agent.major else agent.family
    if system is None:
        return name
    version = ".".join(part for part in (system.major, system.minor) if part)
    return f"{name} on {system.family} {version}".rstrip()


def waba_label(name: str | None, waba_id: str | None) -> str:
    """How a WABA is named wherever it is shown: "Lucky Shrub (102290129340398)", "WABA
    102290129340398" when it has no name, "no WABA" for something that names none."""
    if not waba_id:
        return "no WABA"
    return f"{name} ({waba_id})" if name else f"WABA {waba_id}"


def waba_subject(name: str | None, waba_id: str) -> str:
    """The same name as the subject of a sentence: "WABA Lucky Shrub (102290129340398) is …"."""
    return f"WABA {name} ({waba_id})" if name else f"WABA {waba_id}"
