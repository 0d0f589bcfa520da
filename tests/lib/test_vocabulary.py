"""Meta's codes in words: every code the parser and Meta's references name has words; a new code
shows as itself; the code stays available beside the words."""

from __future__ import annotations

import pytest

from app.lib.vocabulary import VOCABULARIES, known, say, say_with_code, time_zone

# Every code the parser stores in a state or detail that a page shows, with its words.
EXAMPLES = [
    ("tier", "TIER_50", "50 conversations a day"),
    ("tier", "TIER_250", "250 conversations a day"),
    ("tier", "TIER_1K", "1,000 conversations a day"),
    ("tier", "TIER_2K", "2,000 conversations a day"),
    ("tier", "TIER_10K", "10,000 conversations a day"),
    ("tier", "TIER_100K", "100,000 conversations a day"),
    ("tier", "TIER_UNLIMITED", "unlimited conversations"),
    ("tier", "TIER_NOT_SET", "no messaging limit set yet"),
    ("tier", 2000, "2,000 conversations a day"),
    ("tier", -1, "unlimited conversations"),
    ("restriction", "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "can't add phone numbers"),
    ("restriction", "RESTRICTED_BIZ_INITIATED_AND_USER_INITIATED_CALLING", "can't make or receive calls"),
    ("restriction", "RESTRICTED_BIZ_INITIATED_MESSAGING", "can't start conversations with customers"),
    ("restriction", "RESTRICTED_BUSINESS_INITIATED_CALLING", "can't call customers"),
    ("restriction", "RESTRICTED_CUSTOMER_INITIATED_MESSAGING", "can't reply to customers' messages"),
    ("restriction", "RESTRICTED_DIRECT_SEND_UTILITY_TEMPLATES", "can't send utility templates directly"),
    ("restriction", "RESTRICTED_USER_INITIATED_CALLING", "can't receive calls from customers"),
    (
        "restriction",
        "RESTRICTED_USER_INITIATED_CALLING_CALL_BUTTON_HIDDEN",
        "can't receive calls (call button hidden)",
    ),
    ("restriction", "RESTRICTED_UTILITY_TEMPLATES", "can't send utility templates"),
    ("name_rejection", "NAME_ENDCLIENT_NOTRELATED", "name not related to the business"),
    ("name_rejection", "NAME_EMPLOYEE_ISSUE", "name is an employee's, not the business's"),
    ("name_rejection", "NAME_FORMAT_UNACCEPTABLE", "name's format is not allowed"),
    ("name_rejection", "NAME_INDIVIDUAL_ISSUE", "name is a person's, not the business's"),
    ("name_rejection", "NAME_NOT_CONSISTENT", "name does not match the business's branding"),
    ("name_rejection", "UNKNOWN", "reason not given by Meta"),
    ("review", "APPROVED", "approved"),
    ("review", "REJECTED", "rejected"),
    ("review", "PENDING", "in review"),
    ("review", "DEFERRED", "review postponed"),
    ("name_status", "PENDING_REVIEW", "waiting for Meta's review"),
    ("name_status", "DECLINED", "rejected"),
    ("name_status", "AVAILABLE_WITHOUT_REVIEW", "usable without review"),
    ("name_status", "IN_APPEAL", "in appeal"),
    ("ban_state", "DISABLE", "disabled"),
    ("ban_state", "SCHEDULE_FOR_DISABLE", "to be disabled"),
    ("ban_state", "REINSTATE", "reinstated"),
    ("quality", "RED", "Low"),
    ("quality", "YELLOW", "Medium"),
    ("quality", "GREEN", "High"),
    ("quality", "UNKNOWN", "Not rated yet"),
    ("quality_event", "FLAGGED", "flagged for low quality"),
    ("quality_event", "THROUGHPUT_UPGRADE", "higher sending speed"),
    ("security_event", "PIN_RESET_REQUEST", "two-step PIN reset asked for"),
    ("security_event", "PIN_REQUEST_SUCCESS", "two-step PIN reset completed"),
    ("security_event", "PIN_RESET_SUCCESS", "two-step PIN reset completed"),
    ("violation", "SCAM", "scam"),
    ("violation", "ADULT", "adult content"),
    ("violation", "ALCOHOL", "alcohol"),
    (
        "violation",
        "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_WARN",
        "marketing sent as utility templates (Direct Send warning)",
    ),
    ("disconnection", "PRIMARY_INACTIVITY", "the WhatsApp Business app was inactive (about 14 days)"),
    ("certification", "LEGAL NAME NOT MATCHING", "legal name does not match"),
    ("alert", "PROFILE_PICTURE_LOST", "profile picture removed"),
    ("template_status", "PENDING_DELETION", "to be deleted"),
    ("template_reason", "TAG_CONTENT_MISMATCH", "content does not match its category"),
    ("business_verification", "pending_need_more_info", "pending: Meta needs more information"),
    ("health", "LIMITED", "can send with limits"),
    ("phone_status", "CONNECTED", "connected"),
    ("solution_status", "PENDING_DEACTIVATION", "being deactivated"),
    ("flow_status", "THROTTLED", "throttled"),
    ("account_event", "PARTNER_REMOVED", "unshared from a partner"),
]


@pytest.mark.parametrize(("kind", "code", "words"), EXAMPLES)
def test_each_known_code_has_its_words(kind: str, code: object, words: str) -> None:
    assert say(kind, code) == words
    repeats = words.casefold().replace(" ", "_") == str(code).casefold()
    assert say_with_code(kind, code) == (words if repeats else f"{words} ({code})")
    assert known(kind, code)


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
def test_an_unknown_code_is_shown_as_itself_and_nothing_as_not_known(kind: str) -> None:
    assert say(kind, "SOMETHING_META_ADDED") == "SOMETHING_META_ADDED"
    assert say_with_code(kind, "SOMETHING_META_ADDED") == "SOMETHING_META_ADDED"
    assert not known(kind, "SOMETHING_META_ADDED")
    assert say(kind, None) == "not known"
    assert say(kind, "") == "not known"


@pytest.mark.parametrize("kind", sorted(set(VOCABULARIES) - {"time_zone"}))
def test_no_words_are_a_code(kind: str) -> None:
    for code, words in VOCABULARIES[kind].items():
        assert words, (kind, code)
        assert words != code or code.islower(), (kind, code)
        assert "_" not in words, (kind, code)


def test_every_enum_of_the_references_is_covered() -> None:
    documented = {
        "tier": "TIER_50 TIER_250 TIER_1K TIER_2K TIER_10K TIER_100K TIER_NOT_SET TIER_UNLIMITED",
        "restriction": (
            "RESTRICTED_ADD_PHONE_NUMBER_ACTION RESTRICTED_BIZ_INITIATED_AND_USER_INITIATED_CALLING "
            "RESTRICTED_BIZ_INITIATED_MESSAGING RESTRICTED_BUSINESS_INITIATED_CALLING "
            "RESTRICTED_CUSTOMER_INITIATED_MESSAGING RESTRICTED_DIRECT_SEND_UTILITY_TEMPLATES "
            "RESTRICTED_USER_INITIATED_CALLING RESTRICTED_USER_INITIATED_CALLING_CALL_BUTTON_HIDDEN "
            "RESTRICTED_UTILITY_TEMPLATES"
        ),
        "name_rejection": (
            "NAME_EMPLOYEE_ISSUE NAME_ENDCLIENT_NOTRELATED NAME_FORMAT_UNACCEPTABLE NAME_INDIVIDUAL_ISSUE "
            "NAME_NOT_CONSISTENT UNKNOWN"
        ),
        "review": "APPROVED REJECTED PENDING DEFERRED",
        "name_status": "APPROVED AVAILABLE_WITHOUT_REVIEW DECLINED EXPIRED PENDING_REVIEW NONE REJECTED "
        "PENDING DEFERRED IN_APPEAL",
        "ban_state": "DISABLE SCHEDULE_FOR_DISABLE REINSTATE",
        "quality": "GREEN YELLOW RED UNKNOWN NA",
        "quality_event": "ONBOARDING THROUGHPUT_UPGRADE UPGRADE DOWNGRADE FLAGGED UNFLAGGED",
        "security_event": "PIN_CHANGED PIN_RESET_REQUEST PIN_REQUEST_SUCCESS PIN_RESET_SUCCESS",
        "account_event": (
            "ACCOUNT_DELETED ACCOUNT_RESTRICTION ACCOUNT_VIOLATION AD_ACCOUNT_LINKED "
            "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE DISABLED_UPDATE "
            "MM_LITE_TERMS_SIGNED PARTNER_ADDED PARTNER_APP_INSTALLED PARTNER_APP_UNINSTALLED "
            "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE PARTNER_REMOVED VOLUME_BASED_PRICING_TIER_UPDATE "
            "ACCOUNT_OFFBOARDED ACCOUNT_RECONNECTED VERIFIED_ACCOUNT"
        ),
        "template_status": (
            "APPROVED ARCHIVED UNARCHIVED DELETED DISABLED FLAGGED IN_APPEAL LIMIT_EXCEEDED LOCKED PAUSED "
            "PENDING REINSTATED PENDING_DELETION REJECTED"
        ),
        "template_reason": (
            "ABUSIVE_CONTENT CATEGORY_NOT_AVAILABLE INCORRECT_CATEGORY INVALID_FORMAT NONE PROMOTIONAL "
            "SCAM TAG_CONTENT_MISMATCH"
        ),
        "alert": (
            "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED INCREASED_CAPABILITIES_ELIGIBILITY_FAILED "
            "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO OBA_APPROVED OBA_REJECTED PROFILE_PICTURE_LOST"
        ),
        "health": "AVAILABLE LIMITED BLOCKED",
    }
    missing = {
        (kind, code) for kind, codes in documented.items() for code in codes.split() if not known(kind, code)
    }
    assert missing == set()


def test_a_code_that_only_repeats_its_words_is_not_shown_twice() -> None:
    assert say_with_code("name_status", "APPROVED") == "approved"
    assert say_with_code("name_status", "PENDING_REVIEW") == "waiting for Meta's review (PENDING_REVIEW)"


def test_time_zone_names_meta_s_numeric_id() -> None:
    assert time_zone("1") == "America/Los_Angeles (Meta's time zone 1)"
    assert time_zone(47) == "Europe/Berlin (Meta's time zone 47)"
    assert time_zone("999") == "Meta's time zone 999"
    assert time_zone(None) == "not known"
