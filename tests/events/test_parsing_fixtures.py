"""Every example payload Meta documents (shared/fixtures/meta) parsed to its field, kind, severity
and summary; the same changes give the same events however they are batched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.events.parsed import ParsedEvent, Severity
from app.events.parsing import parse_change
from tests.support.payloads import META_FIXTURES

FIXTURES = META_FIXTURES
RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
INFO, WARN, CRIT = Severity.INFO, Severity.WARNING, Severity.CRITICAL

# fixture -> (kind, severity, summary) of its one change's one event
EXPECTED: dict[str, tuple[str, Severity, str]] = {
    "account_alerts__increased_capabilities_eligibility_deferred": (
        "increased_capabilities_eligibility_deferred",
        WARN,
        "Messaging limit increase deferred: Limits cannot be increased for your business "
        "<BUSINESS_PORTFOLIO_NAME>. Use WhatsApp Business platform actively for several days and "
        "follow our messaging policies.",
    ),
    "account_review_update__approved": ("approved", INFO, "Account review: approved"),
    "account_review_update__rejected": ("rejected", CRIT, "Account review: rejected"),
    "account_update__account_deleted": ("account_deleted", CRIT, "WABA deleted"),
    "account_update__account_reconnected": ("account_reconnected", INFO, "WABA reconnected"),
    "account_update__account_restriction": (
        "account_restriction",
        CRIT,
        "WABA restricted: can't start conversations with customers, can't add phone numbers "
        "until 2022-01-04 21:08 UTC",
    ),
    "account_update__account_restriction_direct_send_rate_limit": (
        "account_restriction",
        CRIT,
        "WABA restricted: can't send utility templates directly until 2026-01-01 "
        "(violation: marketing sent as utility templates: sending slowed)",
    ),
    "account_update__account_restriction_direct_send_warn": (
        "account_restriction",
        WARN,
        "WABA warned: marketing sent as utility templates (Direct Send warning)",
    ),
    "account_update__account_violation": (
        "account_violation",
        WARN,
        "Policy violation on WABA: adult content",
    ),
    "account_update__account_violation_legacy_with_phone_number": (
        "account_violation",
        WARN,
        "Policy violation on WABA (+1 650-555-1111): alcohol",
    ),
    "account_update__ad_account_linked": (
        "ad_account_linked",
        INFO,
        "Ad account 980198427534243 linked to WABA 980198427658004",
    ),
    "account_update__auth_intl_price_eligibility_update": (
        "auth_intl_price_eligibility_update",
        INFO,
        "Eligible for authentication-international rates from 2025-06-01 12:23 UTC (1 country later)",
    ),
    "account_update__business_primary_location_country_update": (
        "business_primary_location_country_update",
        INFO,
        "Primary business location set to IN",
    ),
    "account_update__disabled_update_reinstate": (
        "disabled_update",
        INFO,
        "WABA reinstated on 2025-04-17",
    ),
    "account_update__mm_lite_terms_signed": (
        "mm_lite_terms_signed",
        INFO,
        "Marketing Messages API terms signed for WABA 980198427658004",
    ),
    "account_update__partner_added": (
        "partner_added",
        INFO,
        "WABA 980198427658004 shared with partner (solution 1715120619246906)",
    ),
    "account_update__partner_added_embedded_signup": (
        "partner_added",
        INFO,
        "WABA 495709166956424 shared with partner",
    ),
    "account_update__partner_app_installed": (
        "partner_app_installed",
        INFO,
        "Partner app 5731794616896507 installed on WABA 1191624265890717",
    ),
    "account_update__partner_app_uninstalled": (
        "partner_app_uninstalled",
        WARN,
        "Partner app 869361281603019 uninstalled from WABA 184943124712545",
    ),
    "account_update__partner_client_certification_status_update": (
        "partner_client_certification_status_update",
        INFO,
        "Partner client certification for business 2729063490586005: approved",
    ),
    "account_update__partner_removed": (
        "partner_removed",
        WARN,
        "WABA 980198427658004 unshared from partner",
    ),
    "account_update__verified_account_legacy": (
        "verified_account",
        INFO,
        "+124545784358810 upgraded to a verified account",
    ),
    "account_update__volume_based_pricing_tier_update": (
        "volume_based_pricing_tier_update",
        INFO,
        "Volume pricing tier updated: UTILITY 25000001:50000000 in India from 2025-11",
    ),
    "automatic_events__lead_submitted": (
        "lead_submitted",
        INFO,
        "Automatic events on +1 555-078-3881: 1 lead submitted",
    ),
    "business_capability_update__legacy_v23_250_tier": (
        "capability_update",
        INFO,
        "Capabilities updated: messaging limit 250 conversations a day per phone number (legacy), "
        "up to 2 phone numbers per business",
    ),
    "business_capability_update__limit_increase": (
        "capability_update",
        INFO,
        "Capabilities updated: messaging limit 2,000 conversations a day, up to 25 phone numbers per WABA",
    ),
    "flows__endpoint_latency": (
        "endpoint_latency",
        WARN,
        "Flow 691244242662581 endpoint latency (activated): Flow endpoint latency has reached the p90 "
        "threshold in the last 30 minutes. High latency will increase the loading time between screens "
        "in the flow, impacting …",
    ),
    "flows__status_change_published": (
        "flow_status_change",
        INFO,
        "Flow 6627390910605886 status DRAFT → PUBLISHED",
    ),
    "history__declined": (
        "sync_declined",
        INFO,
        "History sync declined for +1 555-078-3881: (2593109) History sync is turned off by the business "
        "from the WhatsApp Business App — History sharing is turned off by the business",
    ),
    "message_template_components_update__edited": (
        "components_updated",
        INFO,
        "Template “order_confirmation” (en_US) components updated",
    ),
    "message_template_quality_update__green_to_yellow": (
        "quality_yellow",
        WARN,
        "Template “welcome_template” (en-US) quality high → medium",
    ),
    "message_template_status_update__approved": (
        "approved",
        INFO,
        "Template “order_confirmation” (en-US) approved",
    ),
    "message_template_status_update__disabled": (
        "disabled",
        WARN,
        "Template “order_confirmation” (en_US) disabled",
    ),
    "message_template_status_update__pending_deletion": (
        "pending_deletion",
        INFO,
        "Template “order_confirmation” (en_US) to be deleted",
    ),
    "message_template_status_update__rejected_invalid_format": (
        "rejected",
        WARN,
        "Template “abandoned_cart” (en) rejected: invalid format — Your template has parameters placed "
        "next to each other (like {{1}}{{2}}) without text or punctuation between them.",
    ),
    "messages__status_delivered_pmp": ("status_delivered", INFO, "Message delivered to +1 650-555-1234"),
    "messages__status_failed": (
        "status_failed",
        WARN,
        "Message to +1 650-555-1234 failed: (131049) This message was not delivered to maintain healthy "
        "ecosystem engagement. — In order to maintain a healthy ecosystem engagement, the message failed "
        "to be delivered.",
    ),
    "messages__status_sent": ("status_sent", INFO, "Message sent to +1 650-555-1234"),
    "messages__text_incoming": ("incoming_message", INFO, "1 incoming message (1 text) to +1 555-078-3881"),
    "messages__value_errors_throughput": (
        "errors",
        WARN,
        "Error on +1 555-078-3881: (130429) Rate limit hit — Cloud API message throughput has been reached.",
    ),
    "partner_solutions__solution_created": (
        "solution_created",
        INFO,
        "Partner solution 774485461512159 created, status initiated",
    ),
    "payment_configuration_update__needs_testing": (
        "needs_testing",
        WARN,
        "Payment configuration “razorpay-prod” (razorpay): Needs Testing",
    ),
    "phone_number_name_update__approved": (
        "approved",
        INFO,
        "Display name “Lucky Shrub” approved for +1 555-078-3881",
    ),
    "phone_number_quality_update__downgrade": (
        "downgrade",
        CRIT,
        "+1 555-078-3881 downgraded: messaging limit 10,000 conversations a day → 2,000 conversations a day",
    ),
    "phone_number_quality_update__flagged_legacy": (
        "flagged",
        CRIT,
        "+124545784358810 flagged for low quality: messaging limit 10,000 conversations a day",
    ),
    "phone_number_quality_update__throughput_upgrade": (
        "throughput_upgrade",
        INFO,
        "+1 555-078-3881 throughput upgraded: messaging limit unlimited conversations",
    ),
    "security__pin_changed": ("pin_changed", WARN, "Two-step verification PIN changed for +1 555-078-3881"),
    "security__pin_reset_request": (
        "pin_reset_request",
        CRIT,
        "Two-step verification PIN reset requested for +1 555-078-3881 by Business Suite user 61555822107539",
    ),
    "smb_app_state_sync__contact_add": (
        "state_sync",
        INFO,
        "WhatsApp Business app sync on +1 555-078-3881: 1 contact added",
    ),
    "smb_message_echoes__text": (
        "message_echo",
        INFO,
        "1 message sent from the WhatsApp Business app on +1 555-078-3881",
    ),
    "template_category_update__completed": (
        "category_changed",
        WARN,
        "Template “welcome_template” (en-US) category changed utility → marketing",
    ),
    "user_preferences__resume_marketing": (
        "marketing_messages_resume",
        INFO,
        "User preferences on +1 555-078-3881: 1 user resumed marketing messages",
    ),
}


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return payload


def parse_body(body: dict[str, Any]) -> list[list[ParsedEvent]]:
    """The events of every change of a POST body, in order, as processing would call the parser."""
    parsed = []
    for entry in body["entry"]:
        entry_time = datetime.fromtimestamp(entry["time"], UTC) if "time" in entry else None
        for change in entry["changes"]:
            parsed.append(
                parse_change(
                    field=change["field"],
                    value=change["value"],
                    entry_id=entry["id"],
                    entry_time=entry_time,
                    received_at=RECEIVED,
                )
            )
    return parsed


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.json")}
    assert on_disk, f"no fixtures found in {FIXTURES}"
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_its_typed_event(name: str) -> None:
    body = load(name)
    [events] = parse_body(body)
    [event] = events
    kind, severity, summary = EXPECTED[name]
    assert event.field == name.split("__")[0] == body["entry"][0]["changes"][0]["field"]
    assert (event.kind, event.severity, event.summary) == (kind, severity, summary)
    assert event.occurred_at.tzinfo is not None
    json.dumps(event.details, allow_nan=False)  # stored in a JSON column on both databases


def test_batched_changes_parse_as_they_do_alone() -> None:
    names = sorted(EXPECTED)
    alone = [parse_body(load(name))[0] for name in names]
    entries = [entry for name in names for entry in load(name)["entry"]]
    # One entry carrying every change of the same id and time, plus all entries in one POST.
    together = parse_body({"object": "whatsapp_business_account", "entry": entries})
    assert together == alone
    reversed_batch = parse_body({"object": "whatsapp_business_account", "entry": entries[::-1]})
    assert reversed_batch == alone[::-1]


def test_partner_events_belong_to_the_customer_waba_not_the_portfolio() -> None:
    [[event]] = parse_body(load("account_update__partner_app_installed"))
    assert event.waba_id == "1191624265890717"
    [[solution]] = parse_body(load("partner_solutions__solution_created"))
    assert solution.waba_id is None
    [[review]] = parse_body(load("account_review_update__approved"))
    assert review.waba_id == "102290129340398"


def test_incoming_message_text_and_contact_name_never_leak() -> None:
    body = load("messages__text_incoming")
    value = body["entry"][0]["changes"][0]["value"]
    secret_text = value["messages"][0]["text"]["body"]
    contact_name = value["contacts"][0]["profile"]["name"]
    sender = value["messages"][0]["from"]
    [[event]] = parse_body(body)
    shown = event.summary + json.dumps(event.details) + repr(event.state)
    for private in (secret_text, contact_name, sender, "another color", "Sheena"):
        assert private not in shown
    assert event.details["count"] == 1
    assert event.details["types"] == {"text": 1}


@pytest.mark.parametrize("name", ["smb_message_echoes__text", "smb_app_state_sync__contact_add"])
def test_business_app_echoes_and_contacts_never_leak(name: str) -> None:
    body = load(name)
    [[event]] = parse_body(body)
    shown = event.summary + json.dumps(event.details, ensure_ascii=False)
    for private in ("Here's the info you requested", "quest-3", "Pablo", "Morales", "16505551234"):
        assert private not in shown


def test_status_time_is_the_status_timestamp_not_the_arrival() -> None:
    [[event]] = parse_body(load("messages__status_failed"))
    assert event.occurred_at == datetime.fromtimestamp(1751142888, UTC)


def test_events_without_a_meta_time_fall_back_to_entry_time_then_arrival() -> None:
    [[review]] = parse_body(load("account_review_update__approved"))
    assert review.occurred_at == datetime.fromtimestamp(1739321024, UTC)
    [[errors]] = parse_body(load("messages__value_errors_throughput"))  # no entry.time in messages
    assert errors.occurred_at == RECEIVED


def test_phone_fields_are_set_where_the_change_concerns_a_number() -> None:
    [[status]] = parse_body(load("messages__status_sent"))
    assert (status.phone_digits, status.phone_number_id, status.display_phone_number) == (
        "15550783881",
        "106540352242922",
        "15550783881",
    )
    [[quality]] = parse_body(load("phone_number_quality_update__downgrade"))
    assert (quality.phone_digits, quality.phone_number_id) == ("15550783881", None)
    [[legacy]] = parse_body(load("account_update__account_violation_legacy_with_phone_number"))
    assert legacy.phone_digits == "16505551111"
    [[review]] = parse_body(load("account_review_update__rejected"))
    assert (review.phone_digits, review.phone_number_id, review.display_phone_number) == (None, None, None)
