"""Every documented enum value of the typed fields, beyond Meta's example payloads: kinds,
severities, summaries, details and the state each change sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.events.parsed import ParsedEvent, Severity, StateUpdate
from app.events.parsing import parse_change
from app.lib.vocabulary import say

INFO, WARN, CRIT = Severity.INFO, Severity.WARNING, Severity.CRITICAL
ENTRY_TIME = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WABA = "102290129340398"
PHONE = "16505551111"


def one(field: str, value: Any, entry_id: str = WABA) -> ParsedEvent:
    [event] = parse_change(
        field=field, value=value, entry_id=entry_id, entry_time=ENTRY_TIME, received_at=RECEIVED
    )
    return event


def state(event: ParsedEvent) -> dict[tuple[str, str], dict[str, Any]]:
    return {(update.subject, update.key): update.value for update in event.state}


@pytest.mark.parametrize(
    ("decision", "kind", "severity"),
    [
        ("APPROVED", "approved", INFO),
        ("PENDING", "pending", INFO),
        ("DEFERRED", "deferred", WARN),
        ("REJECTED", "rejected", CRIT),
    ],
)
def test_account_review_decision_sets_review_state(decision: str, kind: str, severity: Severity) -> None:
    event = one("account_review_update", {"decision": decision})
    assert (event.kind, event.severity, event.summary) == (
        kind,
        severity,
        f"Account review: {say('review', decision)}",
    )
    assert event.state == (StateUpdate("waba", "review", {"decision": decision}),)


@pytest.mark.parametrize(
    ("ban_state", "severity", "summary"),
    [
        ("DISABLE", CRIT, "WABA disabled on 2025-04-17"),
        ("SCHEDULE_FOR_DISABLE", CRIT, "WABA scheduled to be disabled on 2025-04-17"),
        ("REINSTATE", INFO, "WABA reinstated on 2025-04-17"),
        ("PAUSED_FOREVER", WARN, "WABA ban state changed: PAUSED_FOREVER on 2025-04-17"),
    ],
)
def test_ban_state_change_is_typed_with_ban_details(ban_state: str, severity: Severity, summary: str) -> None:
    value = {
        "event": "DISABLED_UPDATE",
        "ban_info": {"waba_ban_state": ban_state, "waba_ban_date": "April 17, 2025"},
    }
    event = one("account_update", value)
    assert (event.kind, event.severity, event.summary) == ("disabled_update", severity, summary)
    assert event.details == {"ban": {"state": ban_state, "date": "April 17, 2025"}}
    assert state(event) == {("waba", "ban"): {"state": ban_state, "date": "April 17, 2025"}}
    assert event.occurred_at == ENTRY_TIME  # the ban date is not when the change happened


def test_restriction_at_midnight_reads_as_a_date_and_sets_restriction_state() -> None:
    expires = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {
                "restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
                "expiration": expires,
                "remediation": "Appeal",
            }
        ],
    }
    event = one("account_update", value)
    assert (event.severity, event.summary) == (
        CRIT,
        "WABA restricted: can't add phone numbers until 2026-12-01",
    )
    restriction = {
        "type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
        "expires_at": "2026-12-01T00:00:00+00:00",
        "remediation": "Appeal",
    }
    assert state(event) == {
        ("waba", "restriction"): {
            "restrictions": [restriction],
            "expires_at": "2026-12-01T00:00:00+00:00",
            "violation_type": None,
        }
    }


def test_restrictions_with_different_expiries_are_listed_each_with_its_own() -> None:
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1767225600},
            {"restriction_type": "RESTRICTED_USER_INITIATED_CALLING", "expiration": 1769904000},
        ],
    }
    event = one("account_update", value)
    assert event.summary == (
        "WABA restricted: can't start conversations with customers until 2026-01-01; "
        "can't receive calls from customers until 2026-02-01"
    )
    assert state(event)[("waba", "restriction")]["expires_at"] == "2026-02-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "violation",
    ["DIRECT_SEND_UTILITY_CATEGORY_ABUSE_UNBAN", "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_RATE_LIMIT_RECOVERY"],
)
def test_lifted_restriction_is_info_and_clears_restriction_state(violation: str) -> None:
    event = one(
        "account_update", {"event": "ACCOUNT_RESTRICTION", "violation_info": {"violation_type": violation}}
    )
    assert (event.kind, event.severity, event.summary) == (
        "account_restriction",
        INFO,
        f"WABA restriction lifted: {say('violation', violation)}",
    )
    assert state(event)[("waba", "restriction")] == {
        "restrictions": [],
        "expires_at": None,
        "violation_type": violation,
    }


def test_restriction_warning_without_restrictions_leaves_restriction_state_alone() -> None:
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "violation_info": {"violation_type": "DIRECT_SEND_UTILITY_TEMPLATE_ABUSE"},
    }
    event = one("account_update", value)
    assert event.severity == WARN
    assert ("waba", "restriction") not in state(event)
    assert state(event)[("waba", "violation")] == {"violation_type": "DIRECT_SEND_UTILITY_TEMPLATE_ABUSE"}


@pytest.mark.parametrize(
    ("event_name", "severity", "summary"),
    [
        ("ACCOUNT_DELETED", CRIT, "WABA deleted"),
        ("ACCOUNT_OFFBOARDED", CRIT, "WABA offboarded (device change or number re-registration)"),
        ("ACCOUNT_RECONNECTED", INFO, "WABA reconnected"),
    ],
)
def test_account_lifecycle_events_set_lifecycle_state(
    event_name: str, severity: Severity, summary: str
) -> None:
    event = one("account_update", {"event": event_name})
    assert (event.kind, event.severity, event.summary) == (event_name.lower(), severity, summary)
    assert state(event) == {("waba", "lifecycle"): {"event": event_name}}


def test_partner_removed_in_coexistence_says_why_and_who() -> None:
    value = {
        "event": "PARTNER_REMOVED",
        "waba_info": {"waba_id": "980198427658004", "owner_business_id": "2329417887457253"},
        "disconnection_info": {"reason": "COMPANION_INACTIVITY", "initiated_by": "SYSTEM"},
    }
    event = one("account_update", value, entry_id="2949482758682047")
    assert event.waba_id == "980198427658004"
    assert (event.severity, event.summary) == (
        WARN,
        "WABA 980198427658004 unshared from partner: the linked device was inactive (about 30 days) (by Meta)",
    )
    assert event.details["disconnection"] == {"reason": "COMPANION_INACTIVITY", "initiated_by": "SYSTEM"}
    assert state(event)[("waba", "partner")]["event"] == "PARTNER_REMOVED"


@pytest.mark.parametrize(
    ("status", "severity"),
    [("APPROVED", INFO), ("PENDING", INFO), ("DISCARDED", INFO), ("FAILED", WARN), ("REVOKED", WARN)],
)
def test_partner_client_certification_outcome(status: str, severity: Severity) -> None:
    info = {
        "client_business_id": "27",
        "status": status,
        "rejection_reasons": ["ADDRESS NOT MATCHING", "NONE"],
    }
    event = one(
        "account_update",
        {"event": "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", "partner_client_certification_info": info},
    )
    assert event.severity == severity
    assert event.summary == (
        f"Partner client certification for business 27: {say('certification', status)} (address does not match)"
    )
    assert event.details["rejection_reasons"] == ["ADDRESS NOT MATCHING"]


def test_volume_tier_update_occurred_at_its_update_time() -> None:
    value = {
        "event": "VOLUME_BASED_PRICING_TIER_UPDATE",
        "volume_tier_info": {"tier_update_time": 1743451000, "tier": "1:2"},
    }
    assert one("account_update", value).occurred_at == datetime.fromtimestamp(1743451000, UTC)


@pytest.mark.parametrize(
    ("alert", "status", "meta", "kind", "severity"),
    [
        (
            "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
            "ACTIVE",
            "CRITICAL",
            "increased_capabilities_eligibility_failed",
            WARN,
        ),
        (
            "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO",
            "ACTIVE",
            "WARNING",
            "increased_capabilities_eligibility_need_more_info",
            WARN,
        ),
        ("OBA_APPROVED", "ACTIVE", "INFORMATIONAL", "oba_approved", INFO),
        ("OBA_REJECTED", "ACTIVE", "WARNING", "oba_rejected", WARN),
        ("PROFILE_PICTURE_LOST", "NONE", "WARNING", "profile_picture_lost", INFO),
        ("BRAND_NEW_ALERT", "ACTIVE", "CRITICAL", "brand_new_alert", CRIT),
        ("BRAND_NEW_ALERT", "ACTIVE", "INFORMATIONAL", "brand_new_alert", INFO),
        ("BRAND_NEW_ALERT", "ACTIVE", None, "brand_new_alert", WARN),
    ],
)
def test_account_alert_severity(
    alert: str, status: str, meta: str | None, kind: str, severity: Severity
) -> None:
    info = {
        "alert_type": alert,
        "alert_status": status,
        "alert_severity": meta,
        "alert_description": "Words.",
    }
    event = one(
        "account_alerts", {"entity_type": "PHONE_NUMBER", "entity_id": "106540352242922", "alert_info": info}
    )
    assert (event.kind, event.severity) == (kind, severity)
    assert event.phone_number_id == "106540352242922"


def test_account_alert_no_longer_active_says_so() -> None:
    info = {"alert_type": "PROFILE_PICTURE_LOST", "alert_status": "NONE", "alert_severity": "WARNING"}
    assert one("account_alerts", {"entity_type": "BUSINESS", "alert_info": info}).summary == (
        "Profile picture removed (no longer active)"
    )


@pytest.mark.parametrize(
    ("raw", "tier"),
    [
        ("TIER_100K", "TIER_100K"),
        (10000, "TIER_10K"),
        (-1, "TIER_UNLIMITED"),
        ("2000", "TIER_2K"),
        (3000, "3000"),
    ],
)
def test_capability_limit_as_integer_or_tier_name(raw: object, tier: str) -> None:
    event = one("business_capability_update", {"max_daily_conversations_per_business": raw})
    assert event.summary == f"Capabilities updated: messaging limit {say('tier', tier)}"
    assert state(event) == {("waba", "capabilities"): {"messaging_limit": tier}}


@pytest.mark.parametrize(
    ("event_name", "severity"),
    [
        ("APPROVED", INFO),
        ("ARCHIVED", INFO),
        ("UNARCHIVED", INFO),
        ("DELETED", INFO),
        ("DISABLED", WARN),
        ("FLAGGED", WARN),
        ("IN_APPEAL", INFO),
        ("LIMIT_EXCEEDED", WARN),
        ("LOCKED", WARN),
        ("PAUSED", WARN),
        ("PENDING", INFO),
        ("REINSTATED", INFO),
        ("PENDING_DELETION", INFO),
        ("REJECTED", WARN),
    ],
)
def test_every_template_status(event_name: str, severity: Severity) -> None:
    value = {
        "event": event_name,
        "message_template_id": 1689556908129832,
        "message_template_name": "t",
        "reason": "NONE",
    }
    event = one("message_template_status_update", value)
    assert (event.kind, event.severity) == (event_name.lower(), severity)
    assert event.details["template_id"] == "1689556908129832"


def test_template_paused_names_the_pause() -> None:
    value = {
        "event": "PAUSED",
        "message_template_name": "promo",
        "message_template_language": "en_US",
        "reason": "NONE",
        "other_info": {"title": "FIRST_PAUSE", "description": "Paused for 3 hours due to low quality."},
    }
    assert (
        one("message_template_status_update", value).summary
        == "Template “promo” (en_US) paused (first pause)"
    )


@pytest.mark.parametrize(
    ("score", "severity"), [("GREEN", INFO), ("YELLOW", WARN), ("RED", WARN), ("UNKNOWN", INFO)]
)
def test_template_quality_scores(score: str, severity: Severity) -> None:
    event = one(
        "message_template_quality_update", {"previous_quality_score": "GREEN", "new_quality_score": score}
    )
    assert (event.kind, event.severity) == (f"quality_{score.lower()}", severity)


def test_impending_template_category_change() -> None:
    value = {
        "message_template_name": "welcome",
        "message_template_language": "en",
        "new_category": "UTILITY",
        "correct_category": "MARKETING",
        "category_update_timestamp": 1746255600,
    }
    event = one("template_category_update", value)
    assert (event.kind, event.severity) == ("category_change_pending", WARN)
    assert event.summary == "Template “welcome” (en) will change category utility → marketing"
    assert event.occurred_at == ENTRY_TIME  # the update timestamp is when it will happen


@pytest.mark.parametrize(
    ("decision", "severity", "summary"),
    [
        ("APPROVED", INFO, "Display name “Acme Support” approved for +1 650-555-1111"),
        ("PENDING", INFO, "Display name “Acme Support” pending review for +1 650-555-1111"),
        ("DEFERRED", WARN, "Display name “Acme Support” review deferred for +1 650-555-1111"),
        (
            "REJECTED",
            WARN,
            "Display name “Acme Support” rejected for +1 650-555-1111: name's format is not allowed",
        ),
    ],
)
def test_display_name_decisions(decision: str, severity: Severity, summary: str) -> None:
    reason = "NAME_FORMAT_UNACCEPTABLE" if decision == "REJECTED" else None
    value = {
        "display_phone_number": PHONE,
        "decision": decision,
        "requested_verified_name": "Acme Support",
        "rejection_reason": reason,
    }
    event = one("phone_number_name_update", value)
    assert (event.severity, event.summary) == (severity, summary)
    assert event.phone_digits == PHONE
    assert state(event) == {
        ("phone", "name"): {"status": decision, "requested_name": "Acme Support", "reason": reason}
    }


@pytest.mark.parametrize(
    ("event_name", "old", "current", "severity", "summary"),
    [
        (
            "DOWNGRADE",
            "TIER_10K",
            "TIER_1K",
            CRIT,
            "+1 650-555-1111 downgraded: messaging limit 10,000 conversations a day → 1,000 conversations a day",
        ),
        (
            "UPGRADE",
            "TIER_1K",
            "TIER_10K",
            INFO,
            "+1 650-555-1111 upgraded: messaging limit 1,000 conversations a day → 10,000 conversations a day",
        ),
        (
            "FLAGGED",
            None,
            "TIER_10K",
            CRIT,
            "+1 650-555-1111 flagged for low quality: messaging limit 10,000 conversations a day",
        ),
        (
            "UNFLAGGED",
            None,
            "TIER_10K",
            INFO,
            "+1 650-555-1111 no longer flagged: messaging limit 10,000 conversations a day",
        ),
        (
            "ONBOARDING",
            None,
            "TIER_250",
            INFO,
            "+1 650-555-1111 onboarding: messaging limit 250 conversations a day",
        ),
    ],
)
def test_quality_events_set_quality_and_limit(
    event_name: str, old: str | None, current: str, severity: Severity, summary: str
) -> None:
    value = {"display_phone_number": PHONE, "event": event_name, "old_limit": old, "current_limit": current}
    event = one("phone_number_quality_update", value)
    assert (event.kind, event.severity, event.summary) == (event_name.lower(), severity, summary)
    assert state(event)[("phone", "messaging_limit")] == {"tier": current, "previous": old}
    # Only FLAGGED and UNFLAGGED say anything about the rating; the rest move the limit only.
    quality = state(event).get(("phone", "quality"))
    if event_name == "FLAGGED":
        assert quality == {"event": "FLAGGED", "flagged": True, "rating": "RED"}
    elif event_name == "UNFLAGGED":
        assert quality == {"event": "UNFLAGGED", "flagged": False}
    else:
        assert quality is None


def test_quality_event_with_only_the_business_limit_uses_it() -> None:
    value = {
        "display_phone_number": PHONE,
        "event": "ONBOARDING",
        "max_daily_conversations_per_business": "TIER_2K",
    }
    event = one("phone_number_quality_update", value)
    assert state(event)[("phone", "messaging_limit")] == {"tier": "TIER_2K", "previous": None}


def test_throughput_upgrade_sets_throughput_state() -> None:
    event = one("phone_number_quality_update", {"display_phone_number": PHONE, "event": "THROUGHPUT_UPGRADE"})
    assert state(event)[("phone", "throughput")] == {"level": "HIGH", "event": "THROUGHPUT_UPGRADE"}


@pytest.mark.parametrize(
    ("event_name", "severity", "summary"),
    [
        ("PIN_CHANGED", WARN, "Two-step verification PIN changed for +44 7911 123456"),
        (
            "PIN_RESET_REQUEST",
            CRIT,
            "Two-step verification PIN reset requested for +44 7911 123456 by Business Suite user 615",
        ),
        ("PIN_REQUEST_SUCCESS", WARN, "Two-step verification PIN reset completed for +44 7911 123456"),
        ("PIN_RESET_SUCCESS", WARN, "Two-step verification PIN reset completed for +44 7911 123456"),
    ],
)
def test_security_events(event_name: str, severity: Severity, summary: str) -> None:
    requester = "615" if event_name == "PIN_RESET_REQUEST" else None
    value = {"display_phone_number": "447911123456", "event": event_name, "requester": requester}
    event = one("security", value)
    assert (event.kind, event.severity, event.summary) == (event_name.lower(), severity, summary)
    assert state(event) == {("phone", "security"): {"event": event_name, "requester": requester}}


def test_several_statuses_in_one_change_give_one_event_each_with_its_own_time() -> None:
    value = {
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [
            {"id": "wamid.A", "status": "read", "timestamp": "1750030100", "recipient_id": "16505551234"},
            {"id": "wamid.B", "status": "played", "timestamp": "1750030200", "recipient_id": "447911123456"},
            {
                "id": "wamid.C",
                "status": "failed",
                "timestamp": "1750030300",
                "recipient_id": "120363040000000000",
                "recipient_type": "group",
                "errors": [{"code": 131026, "title": "Message undeliverable"}],
            },
        ],
        "errors": [{"code": 131000, "title": "Something went wrong"}],
    }
    events = parse_change(field="messages", value=value, entry_id=WABA, entry_time=None, received_at=RECEIVED)
    assert [(event.kind, event.severity) for event in events] == [
        ("status_read", INFO),
        ("status_played", INFO),
        ("status_failed", WARN),
        ("errors", WARN),
    ]
    assert [event.summary for event in events] == [
        "Message read by +1 650-555-1234",
        "Voice message played by +44 7911 123456",
        "Message to group 120363040000000000 failed: (131026) Message undeliverable",
        "Error on +1 555-078-3881: (131000) Something went wrong",
    ]
    assert [event.occurred_at.timestamp() for event in events[:3]] == [1750030100, 1750030200, 1750030300]
    assert events[3].occurred_at == RECEIVED
    assert all(event.phone_number_id == "106540352242922" for event in events)


def test_incoming_messages_are_counted_by_type_and_dated_by_the_newest() -> None:
    value = {
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ada Lovelace"}, "wa_id": "447911123456"}],
        "messages": [
            {
                "from": "447911123456",
                "id": "wamid.1",
                "timestamp": "1749416383",
                "type": "text",
                "text": {"body": "hi there"},
            },
            {
                "from": "447911123456",
                "id": "wamid.2",
                "timestamp": "1749416390",
                "type": "image",
                "image": {"caption": "my passport", "id": "m1"},
            },
            {
                "from": "447911123456",
                "id": "wamid.3",
                "timestamp": "1749416385",
                "type": "text",
                "text": {"body": "x"},
            },
        ],
    }
    event = one("messages", value)
    assert event.summary == "3 incoming messages (1 image, 2 text) to +1 555-078-3881"
    assert event.details == {
        "count": 3,
        "types": {"image": 1, "text": 2},
        "message_ids": ["wamid.1", "wamid.2", "wamid.3"],
    }
    assert event.occurred_at == datetime.fromtimestamp(1749416390, UTC)


@pytest.mark.parametrize(
    ("value", "kind", "severity"),
    [
        (
            {
                "event": "FLOW_STATUS_CHANGE",
                "flow_id": "1",
                "old_status": "PUBLISHED",
                "new_status": "BLOCKED",
            },
            "flow_status_change",
            CRIT,
        ),
        (
            {
                "event": "FLOW_STATUS_CHANGE",
                "flow_id": "1",
                "old_status": "PUBLISHED",
                "new_status": "THROTTLED",
            },
            "flow_status_change",
            WARN,
        ),
        (
            {"event": "ENDPOINT_ERROR_RATE", "flow_id": "1", "alert_state": "DEACTIVATED"},
            "endpoint_error_rate",
            INFO,
        ),
        (
            {"event": "CLIENT_ERROR_RATE", "flow_id": "1", "alert_state": "ACTIVATED"},
            "client_error_rate",
            WARN,
        ),
    ],
)
def test_flow_events(value: dict[str, Any], kind: str, severity: Severity) -> None:
    event = one("flows", value)
    assert (event.kind, event.severity) == (kind, severity)


def test_history_progress_counts_threads_and_messages_without_content() -> None:
    value = {
        "metadata": {"display_phone_number": "15550783881"},
        "history": [
            {
                "metadata": {"phase": 0, "chunk_order": 1, "progress": 40},
                "threads": [{"id": "447911123456", "messages": [{"text": {"body": "old secret"}}, {}]}],
            }
        ],
    }
    event = one("history", value)
    assert (event.kind, event.summary) == (
        "sync_progress",
        "History sync for +1 555-078-3881: 1 threads, 2 messages (40%)",
    )
    assert "secret" not in repr(event.details)


def test_user_preferences_stop_and_resume_in_one_change() -> None:
    prefs = [
        {"wa_id": "1", "category": "marketing_messages", "value": "stop", "timestamp": 1731705721},
        {"wa_id": "2", "category": "marketing_messages", "value": "resume", "timestamp": 1731705722},
    ]
    event = one("user_preferences", {"metadata": {}, "user_preferences": prefs})
    assert event.kind == "preferences_updated"
    assert event.summary == (
        "User preferences on the phone number: 1 user resumed marketing messages, 1 user stopped marketing messages"
    )
    assert event.occurred_at == datetime.fromtimestamp(1731705722, UTC)
