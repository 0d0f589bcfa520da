"""Mail (subject, plain text, HTML) and Slack Block Kit renderings of an ``AlertMessage``.

Untrusted text is escaped for each medium: HTML escaping in the mail's HTML part (Jinja autoescape),
Slack's mrkdwn escaping of ``&``, ``<`` and ``>`` (so a name cannot become a link or a mention),
and no line breaks in a mail header.
"""

from __future__ import annotations

from typing import Any

from app.alerts.messages import AlertMessage
from app.web.templating import templates

SUBJECT_MAX = 180


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def url_of(message: AlertMessage, base_url: str) -> str | None:
    return base_url.rstrip("/") + message.link_path if message.link_path else None


def email_subject(message: AlertMessage) -> str:
    prefix = f"[{message.severity.upper()}] " if message.severity else ""
    return one_line(f"{prefix}{message.title} · {message.org_name}", SUBJECT_MAX)


def _context(message: AlertMessage, base_url: str) -> dict[str, Any]:
    return {"m": message, "url": url_of(message, base_url)}


def email_text(message: AlertMessage, *, base_url: str) -> str:
    return templates.env.get_template("emails/alert.txt").render(_context(message, base_url))


def email_html(message: AlertMessage, *, base_url: str) -> str:
    return templates.env.get_template("emails/alert.html").render(_context(message, base_url))


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: AlertMessage, *, base_url: str) -> dict[str, Any]:
    url = url_of(message, base_url)
    icon = {"critical": ":red_circle:", "warning": ":large_orange_circle:"}.get(message.severity or "", "")
    title = slack_escape(one_line(message.title, 150))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title}*".strip()}},
    ]
    if message.summary:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(message.summary[:2900])}}
        )
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{slack_escape(value[:500])}"}
                    for label, value in message.facts[:10]
                ],
            }
        )
    if message.items:
        lines = "\n".join("• " + slack_escape(item[:200]) for item in message.items[:40])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines[:2900]}})
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.link_label[:70]},
                        "url": url,
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": slack_escape(f"wabawatch · {message.org_name}")}],
        }
    )
    fallback = slack_escape(one_line(f"{message.title}: {message.summary}", 300))
    return {"text": fallback, "blocks": blocks}
