"""Meta's webhook fields in two kinds: message traffic and what happens to the accounts.

The message family (delivery statuses, inbound messages, echoes, chat history, app state) is most
of what Meta sends, a few hundred a second for a busy number; everything else (reviews, bans,
quality, limits, names, templates, PINs) is what the people who use wabawatch are paged for. The
timeline shows account events unless asked for all (``app.events.catalog``), and the worker
processes waiting account changes before message traffic (``app.webhooks.queries``), so a quality
downgrade never queues behind thousands of delivery receipts.
"""

from __future__ import annotations

MESSAGE_FIELDS = frozenset({"messages", "smb_message_echoes", "history", "smb_app_state_sync"})

_LISTED = ", ".join(f"'{field}'" for field in sorted(MESSAGE_FIELDS))
# The same conditions as SQL text with literal values, for any table with a ``field`` column: a
# bound list would hide them from the planner, which then cannot use the partial indexes built on
# exactly this text (events, webhook changes).
ACCOUNT_FIELDS_SQL = f"field NOT IN ({_LISTED})"
MESSAGE_FIELDS_SQL = f"field IN ({_LISTED})"
