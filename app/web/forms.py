from __future__ import annotations

from starlette.requests import Request


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as plain strings, one value per field (files are not expected on our
    forms). NUL characters are dropped: no person types one, and PostgreSQL refuses them in text."""
    form = await request.form()
    return {key: _clean(value) for key, value in form.items() if isinstance(value, str)}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """Every value of every field, for fields a form repeats (checkboxes), cleaned as above."""
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(_clean(value))
    return found


def _clean(value: str) -> str:
    return value.replace("\x00", "")


def client_address(request: Request) -> str:
    """The peer address (uvicorn puts the proxy's X-Forwarded-For here when the proxy is trusted),
    cut to the width of the column that records sign-in attempts."""
    return (request.client.host if request.client else "unknown")[:64]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect a person to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
