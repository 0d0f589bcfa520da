"""Keeps secrets out of httpx2's request log line, which prints the full URL with its query string.

The client sends tokens in the Authorization header, but debug_token's ``input_token`` can only go
in the query string; this filter masks it (and any other secret parameter) wherever httpx2 logs a URL.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2

SECRET_PARAMS = frozenset(
    {
        "access_token",
        "input_token",
        "client_secret",
        "code",
        "verify_token",
        "appsecret_proof",
        "fb_exchange_token",
    }
)
MASK = "[redacted]"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (k, MASK if k in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))


class RedactUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx2.URL) else a for a in record.args)
        return True


def install() -> None:
    """Idempotent: adds the filter to httpx2's logger once."""
    logger = logging.getLogger("httpx2")
    if not any(isinstance(f, RedactUrls) for f in logger.filters):
        logger.addFilter(RedactUrls())
