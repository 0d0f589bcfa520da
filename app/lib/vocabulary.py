"""Meta's codes in words: one table per kind of code, so that every page, alert and export says
"can't add phone numbers" where Meta wrote ``RESTRICTED_ADD_PHONE_NUMBER_ACTION``.

``say(kind, code)`` gives the words, or the code itself when Meta sent one we do not know yet (an
unknown code is shown, never hidden); ``say_with_code`` adds the code in brackets for detail
pages ("10,000 conversations a day (TIER_10K)"). Pure mapping, no domain: the parser, the pages
and the alert texts all ask here. Sources: Meta's WhatsApp Business Management webhook and Graph
API references as summarised in the fixtures' SPEC (enumerations of each field).
"""

from __future__ import annotations

from typing import Final

_TIERS: Final = {
    "TIER_50": "50 conversations a day",
    "TIER_250": "250 conversations a day",
    "TIER_1K": "1,000 conversations a day",
    "TIER_2K": "2,000 conversations a day",
    "TIER_10K": "10,000 conversations a day",
    "TIER_100K": "100,000 conversations a day",
    "TIER_UNLIMITED": "unlimited conversations",
    "TIER_NOT_SET": "no messaging limit set yet",
    # business_capability_update's legacy per-phone limit arrives as a number.
    "50": "50 conversations a day",
    "250": "250 conversations a day",
    "1000": "1,000 conversations a day",
    "2000": "2,000 conversations a day",
    "10000": "10,000 conversations a day",
    "100000": "100,000 conversations a day",
    "-1": "unlimited conversations",
}

_RESTRICTIONS: Final = {
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": "can't add phone numbers",
    "RESTRICTED_BIZ_INITIATED_AND_USER_INITIATED_CALLING": "can't make or receive calls",
    "RESTRICTED_BIZ_INITIATED_MESSAGING": "can't start conversations with customers",
    "RESTRICTED_BUSINESS_INITIATED_CALLING": "can't call customers",
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": "can't reply to customers' messages",
    "RESTRICTED_DIRECT_SEND_UTILITY_TEMPLATES": "can't send utility templates directly",
    "RESTRICTED_USER_INITIATED_CALLING": "can't receive calls from customers",
    "RESTRICTED_USER_INITIATED_CALLING_CALL_BUTTON_HIDDEN": "can't receive calls (call button hidden)",
    "RESTRICTED_UTILITY_TEMPLATES": "can't send utility templates",
}

_NAME_REJECTIONS: Final = {
    "NAME_EMPLOYEE_ISSUE": "name is an employee's, not the business's",
    "NAME_ENDCLIENT_NOTRELATED": "name not related to the business",
    "NAME_FORMAT_UNACCEPTABLE": "name's format is not allowed",
    "NAME_INDIVIDUAL_ISSUE": "name is a person's, not the business's",
    "NAME_NOT_CONSISTENT": "name does not match the business's branding",
    "UNKNOWN": "reason not given by Meta",
}

_REVIEW: Final = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "PENDING": "in review",
    "DEFERRED": "review postponed",
}

_NAME_STATUS: Final = {
    "APPROVED": "approved",
    "AVAILABLE_WITHOUT_REVIEW": "usable without review",
    "DECLINED": "rejected",
    "REJECTED": "rejected",
    "EXPIRED": "expired",
    "PENDING_REVIEW": "waiting for Meta's review",
    "PENDING": "waiting for Meta's review",
    "DEFERRED": "review postponed",
    "IN_APPEAL": "in appeal",
    "NONE": "no name requested",
}

_BAN_STATES: Final = {
    "DISABLE": "disabled",
    "SCHEDULE_FOR_DISABLE": "to be disabled",
    "REINSTATE": "reinstated",
}

_QUALITY: Final = {
    "GREEN": "High",
    "YELLOW": "Medium",
    "RED": "Low",
    "UNKNOWN": "Not rated yet",
    "NA": "Not rated yet",
}

_QUALITY_EVENTS: Final = {
    "ONBOARDING": "still being set up",
    "THROUGHPUT_UPGRADE": "higher sending speed",
    "UPGRADE": "messaging limit raised",
    "DOWNGRADE": "messaging limit lowered",
    "FLAGGED": "flagged for low quality",
    "UNFLAGGED": "no longer flagged",
}

_SECURITY_EVENTS: Final = {
    "PIN_CHANGED": "two-step PIN changed",
    "PIN_RESET_REQUEST": "two-step PIN reset asked for",
    "PIN_REQUEST_SUCCESS": "two-step PIN reset completed",
    "PIN_RESET_SUCCESS": "two-step PIN reset completed",
}

_VIOLATIONS: Final = {
    "ADULT": "adult content",
    "ADULT_PRODUCTS": "adult products",
    "ALCOHOL": "alcohol",
    "ANIMALS": "animals",
    "BODY_PARTS_FLUIDS": "body parts or fluids",
    "DATING": "dating",
    "DRUGS": "drugs",
    "GAMBLING": "gambling",
    "REAL_MONEY_GAMBLING": "real-money gambling",
    "HEALTHCARE": "medical or healthcare products",
    "MEDICAL_HEALTHCARE_PRODUCTS": "medical or healthcare products",
    "SCAM": "scam",
    "TOBACCO": "tobacco",
    "WEAPONS": "weapons",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_WARN": "marketing sent as utility templates (Direct Send warning)",
    "DIRECT_SEND_UTILITY_TEMPLATE_ABUSE": "utility templates misused (Direct Send warning)",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_RATE_LIMIT": "marketing sent as utility templates: sending slowed",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_STRIKE_1": "marketing sent as utility templates: first strike",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_STRIKE_2": "marketing sent as utility templates: second strike",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_OFFBOARD": "marketing sent as utility templates: removed from Direct Send",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_UNBAN": "Direct Send restriction lifted",
    "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_RATE_LIMIT_RECOVERY": "Direct Send sending speed restored",
}

_ACCOUNT_EVENTS: Final = {
    "ACCOUNT_DELETED": "account deleted",
    "ACCOUNT_RESTRICTION": "account restricted",
    "ACCOUNT_VIOLATION": "policy violation",
    "AD_ACCOUNT_LINKED": "ad account linked",
    "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE": "eligible for authentication-international rates",
    "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE": "business location country set",
    "DISABLED_UPDATE": "ban state changed",
    "MM_LITE_TERMS_SIGNED": "Marketing Messages terms accepted",
    "PARTNER_ADDED": "shared with a partner",
    "PARTNER_APP_INSTALLED": "partner app installed",
    "PARTNER_APP_UNINSTALLED": "partner app uninstalled",
    "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE": "partner-led business verification updated",
    "PARTNER_REMOVED": "unshared from a partner",
    "VOLUME_BASED_PRICING_TIER_UPDATE": "volume pricing tier changed",
    "ACCOUNT_OFFBOARDED": "account offboarded",
    "ACCOUNT_RECONNECTED": "account reconnected",
    "VERIFIED_ACCOUNT": "verified account",
}

_DISCONNECTION_REASONS: Final = {
    "ACCOUNT_DISCONNECTED": "the account was disconnected",
    "BUSINESS_DOWNGRADE": "the business downgraded",
    "CHANGE_NUMBER": "the number was changed",
    "COMPANION_INACTIVITY": "the linked device was inactive (about 30 days)",
    "PRIMARY_INACTIVITY": "the WhatsApp Business app was inactive (about 14 days)",
    "USER_RE_REGISTERED": "the number was registered again",
    "SYSTEM": "Meta",
    "USER": "the business",
}

_CERTIFICATION: Final = {
    "APPROVED": "approved",
    "DISCARDED": "discarded",
    "FAILED": "failed",
    "PENDING": "pending",
    "REVOKED": "revoked",
    "ADDRESS NOT MATCHING": "address does not match",
    "BUSINESS NOT ELIGIBLE": "business not eligible",
    "LEGAL NAME NOT MATCHING": "legal name does not match",
    "LEGAL NAME NOT FOUND IN DOCUMENTS": "legal name not found in the documents",
    "MALFORMED DOCUMENTS": "documents could not be read",
    "WEBSITE NOT MATCHING": "website does not match",
    "NONE": "no reason",
}

_ALERT_TYPES: Final = {
    "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED": "messaging limit increase deferred",
    "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED": "messaging limit increase refused",
    "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO": "messaging limit increase needs more information",
    "OBA_APPROVED": "official business account approved",
    "OBA_REJECTED": "official business account refused",
    "PROFILE_PICTURE_LOST": "profile picture removed",
    "CRITICAL": "critical",
    "WARNING": "warning",
    "INFORMATIONAL": "for information",
}

_TEMPLATE_STATUS: Final = {
    "APPROVED": "approved",
    "ARCHIVED": "archived",
    "UNARCHIVED": "unarchived",
    "DELETED": "deleted",
    "DISABLED": "disabled",
    "FLAGGED": "flagged",
    "IN_APPEAL": "in appeal",
    "LIMIT_EXCEEDED": "over the template limit",
    "LOCKED": "locked",
    "PAUSED": "paused",
    "PENDING": "in review",
    "REINSTATED": "reinstated",
    "PENDING_DELETION": "to be deleted",
    "REJECTED": "rejected",
}

_TEMPLATE_REASONS: Final = {
    "ABUSIVE_CONTENT": "abusive content",
    "CATEGORY_NOT_AVAILABLE": "category not available",
    "INCORRECT_CATEGORY": "wrong category",
    "INVALID_FORMAT": "invalid format",
    "NONE": "no reason given",
    "PROMOTIONAL": "promotional content",
    "SCAM": "scam",
    "TAG_CONTENT_MISMATCH": "content does not match its category",
    "FIRST_PAUSE": "first pause",
    "SECOND_PAUSE": "second pause",
    "RATE_LIMITING_PAUSE": "paused to slow sending",
    "UNPAUSE": "unpaused",
    "DISABLED": "disabled",
}

_TEMPLATE_CATEGORIES: Final = {
    "MARKETING": "marketing",
    "UTILITY": "utility",
    "AUTHENTICATION": "authentication",
}

_BUSINESS_VERIFICATION: Final = {
    "expired": "expired",
    "failed": "failed",
    "ineligible": "not eligible",
    "not_verified": "not verified",
    "pending": "pending",
    "pending_need_more_info": "pending: Meta needs more information",
    "pending_submission": "not submitted yet",
    "rejected": "rejected",
    "revoked": "revoked",
    "verified": "verified",
}

_HEALTH: Final = {
    "AVAILABLE": "can send messages",
    "LIMITED": "can send with limits",
    "BLOCKED": "blocked from sending",
}

_PHONE_STATUS: Final = {
    "CONNECTED": "connected",
    "DISCONNECTED": "disconnected",
    "FLAGGED": "flagged",
    "RESTRICTED": "restricted",
    "RATE_LIMITED": "rate limited",
    "BANNED": "banned",
    "DELETED": "deleted",
    "MIGRATED": "migrated",
    "PENDING": "pending",
    "UNVERIFIED": "not verified",
    "ACTIVE": "active",
}

_THROUGHPUT: Final = {"STANDARD": "standard speed", "HIGH": "high speed", "NOT_APPLICABLE": "not applicable"}

_SOLUTION_STATUS: Final = {
    "ACTIVE": "active",
    "DEACTIVATED": "deactivated",
    "DRAFT": "draft",
    "INITIATED": "initiated",
    "PENDING_DEACTIVATION": "being deactivated",
    "REJECTED": "rejected",
}

_FLOW_STATUS: Final = {
    "DRAFT": "draft",
    "PUBLISHED": "published",
    "DEPRECATED": "deprecated",
    "BLOCKED": "blocked",
    "THROTTLED": "throttled",
}

# Webhook fields (``changes[].field``) as what they are about.
_FIELDS: Final = {
    "account_alerts": "account alert",
    "account_review_update": "account review",
    "account_update": "account",
    "automatic_events": "ad conversion",
    "business_capability_update": "account limits",
    "flows": "WhatsApp Flow",
    "history": "chat history sync",
    "message_template_components_update": "template content",
    "message_template_quality_update": "template quality",
    "message_template_status_update": "template status",
    "messages": "messages",
    "partner_solutions": "partner solution",
    "payment_configuration_update": "payment configuration",
    "phone_number_name_update": "display name",
    "phone_number_quality_update": "quality and messaging limit",
    "security": "two-step verification",
    "smb_app_state_sync": "Business app contacts",
    "smb_message_echoes": "Business app messages",
    "template_category_update": "template category",
    "user_preferences": "customer preferences",
    "calls": "calls",
}

# Meta's numeric time zone ids (the ad-account time zone list), as IANA names.
_TIME_ZONES: Final = {
    "0": "unknown time zone",
    "1": "America/Los_Angeles",
    "2": "America/Denver",
    "3": "Pacific/Honolulu",
    "4": "America/Anchorage",
    "5": "America/Phoenix",
    "6": "America/Chicago",
    "7": "America/New_York",
    "8": "Asia/Dubai",
    "9": "America/Argentina/San_Luis",
    "10": "America/Argentina/Buenos_Aires",
    "11": "America/Argentina/Salta",
    "12": "Europe/Vienna",
    "13": "Australia/Perth",
    "14": "Australia/Broken_Hill",
    "15": "Australia/Sydney",
    "16": "Europe/Sarajevo",
    "17": "Asia/Dhaka",
    "18": "Europe/Brussels",
    "19": "Europe/Sofia",
    "20": "Asia/Bahrain",
    "21": "America/La_Paz",
    "22": "America/Noronha",
    "23": "America/Campo_Grande",
    "24": "America/Belem",
    "25": "America/Sao_Paulo",
    "26": "America/Nassau",
    "27": "America/Dawson",
    "28": "America/Vancouver",
    "29": "America/Dawson_Creek",
    "30": "America/Edmonton",
    "31": "America/Rainy_River",
    "32": "America/Regina",
    "33": "America/Atikokan",
    "34": "America/Iqaluit",
    "35": "America/Toronto",
    "36": "America/Blanc-Sablon",
    "37": "America/Halifax",
    "38": "America/St_Johns",
    "39": "Europe/Zurich",
    "40": "Pacific/Easter",
    "41": "America/Santiago",
    "42": "Asia/Shanghai",
    "43": "America/Bogota",
    "44": "America/Costa_Rica",
    "45": "Asia/Nicosia",
    "46": "Europe/Prague",
    "47": "Europe/Berlin",
    "48": "Europe/Copenhagen",
    "49": "America/Santo_Domingo",
    "50": "Pacific/Galapagos",
    "51": "America/Guayaquil",
    "52": "Europe/Tallinn",
    "53": "Africa/Cairo",
}

VOCABULARIES: Final[dict[str, dict[str, str]]] = {
    "field": _FIELDS,
    "tier": _TIERS,
    "restriction": _RESTRICTIONS,
    "name_rejection": _NAME_REJECTIONS,
    "review": _REVIEW,
    "name_status": _NAME_STATUS,
    "ban_state": _BAN_STATES,
    "quality": _QUALITY,
    "quality_event": _QUALITY_EVENTS,
    "security_event": _SECURITY_EVENTS,
    "violation": _VIOLATIONS,
    "account_event": _ACCOUNT_EVENTS,
    "disconnection": _DISCONNECTION_REASONS,
    "certification": _CERTIFICATION,
    "alert": _ALERT_TYPES,
    "template_status": _TEMPLATE_STATUS,
    "template_reason": _TEMPLATE_REASONS,
    "template_category": _TEMPLATE_CATEGORIES,
    "business_verification": _BUSINESS_VERIFICATION,
    "health": _HEALTH,
    "phone_status": _PHONE_STATUS,
    "throughput": _THROUGHPUT,
    "solution_status": _SOLUTION_STATUS,
    "flow_status": _FLOW_STATUS,
    "time_zone": _TIME_ZONES,
}


def known(kind: str, code: object) -> bool:
    return _key(code) in VOCABULARIES[kind]


def say(kind: str, code: object) -> str:
    """The words for ``code``; the code itself when it is new to us; "not known" for nothing.
    ``kind`` names one of ``VOCABULARIES`` (a typo is a KeyError: a programming error)."""
    table = VOCABULARIES[kind]
    key = _key(code)
    if not key:
        return "not known"
    return table.get(key, key)


def say_with_code(kind: str, code: object) -> str:
    """ "10,000 conversations a day (TIER_10K)"; an unknown code alone; "not known" for nothing."""
    key = _key(code)
    words = say(kind, code)
    if key not in VOCABULARIES[kind] or words.casefold().replace(" ", "_") == key.casefold():
        return words  # unknown, or the code says the same ("approved (APPROVED)" helps nobody)
    return f"{words} ({key})"


def time_zone(code: object) -> str:
    """Meta's numeric time zone id as a zone name, with Meta's id ("America/Los_Angeles (Meta's
    time zone 1)"); an id we do not know says so."""
    key = _key(code)
    if not key:
        return "not known"
    name = _TIME_ZONES.get(key)
    return f"{name} (Meta's time zone {key})" if name else f"Meta's time zone {key}"


def _key(code: object) -> str:
    if code is None or isinstance(code, bool):
        return ""
    return str(code).strip()
