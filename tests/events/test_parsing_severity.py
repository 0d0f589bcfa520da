"""The severity table: its policy holds for the kinds the parser emits, and unknowns fall back as documented."""

from __future__ import annotations

import pytest

from app.events.parsed import Severity
from app.events.severity import HEALTH_FIELDS, account_alert_severity, severity_for

INFO, WARN, CRIT = Severity.INFO, Severity.WARNING, Severity.CRITICAL


@pytest.mark.parametrize(
    ("field", "kind", "qualifier", "expected"),
    [
        # needs a human now
        ("account_update", "disabled_update", "DISABLE", CRIT),
        ("account_update", "account_restriction", None, CRIT),
        ("account_update", "account_deleted", None, CRIT),
        ("account_review_update", "rejected", None, CRIT),
        ("security", "pin_reset_request", None, CRIT),
        ("phone_number_quality_update", "flagged", None, CRIT),
        ("phone_number_quality_update", "downgrade", None, CRIT),
        # worth a look
        ("message_template_quality_update", "quality_yellow", None, WARN),
        ("phone_number_name_update", "rejected", None, WARN),
        ("message_template_status_update", "rejected", None, WARN),
        ("message_template_status_update", "disabled", None, WARN),
        ("message_template_status_update", "paused", None, WARN),
        ("account_update", "account_violation", None, WARN),
        ("messages", "status_failed", None, WARN),
        ("messages", "errors", None, WARN),
        # informational
        ("account_review_update", "approved", None, INFO),
        ("phone_number_quality_update", "upgrade", None, INFO),
        ("account_update", "disabled_update", "REINSTATE", INFO),
        ("business_capability_update", "capability_update", None, INFO),
        ("messages", "status_delivered", None, INFO),
    ],
)
def test_policy(field: str, kind: str, qualifier: str | None, expected: Severity) -> None:
    assert severity_for(field, kind, qualifier) is expected


def test_unknown_qualifier_falls_back_to_the_kind_row() -> None:
    assert severity_for("account_update", "account_restriction", "SOMETHING_NEW") is CRIT
    assert severity_for("account_update", "disabled_update", "SOMETHING_NEW") is WARN


@pytest.mark.parametrize("field", sorted(HEALTH_FIELDS))
def test_unknown_kind_on_a_health_field_is_a_warning(field: str) -> None:
    assert severity_for(field, "something_meta_added") is WARN


@pytest.mark.parametrize("field", ["flows", "partner_solutions", "history", "group_lifecycle_update", ""])
def test_unknown_kind_elsewhere_is_info(field: str) -> None:
    assert severity_for(field, "something_meta_added") is INFO


def test_account_alert_inactive_is_info_and_unknown_types_follow_meta() -> None:
    assert account_alert_severity("oba_rejected", "WARNING", "NONE") is INFO
    assert (
        account_alert_severity("oba_rejected", "CRITICAL", "ACTIVE") is WARN
    )  # our table wins when it knows
    assert account_alert_severity("new_alert", "CRITICAL", "ACTIVE") is CRIT
    assert account_alert_severity("new_alert", 7, "ACTIVE") is WARN
