"""Plausible values for simulated notifications (enums from ``shared/fixtures/meta/SPEC.md``).

Names deliberately include non-ASCII text, so that every run exercises signatures over Meta's
``\\uXXXX`` escaping.
"""

from __future__ import annotations

import random

# E.164 prefixes in fictional ("555-01xx", Ofcom drama) or mobile-looking ranges, and how many digits follow.
_NUMBERING: tuple[tuple[str, int], ...] = (
    ("1650555", 4),
    ("1415555", 4),
    ("1555", 7),
    ("447700900", 3),
    ("55119", 8),
    ("919", 9),
    ("49151", 8),
    ("5255", 8),
)


def phone_digits(rng: random.Random) -> str:
    """E.164 digits, no "+"."""
    prefix, rest = rng.choice(_NUMBERING)
    return prefix + "".join(rng.choice("0123456789") for _ in range(rest))


def numeric_id(rng: random.Random) -> str:
    """A Graph object id: 15 or 16 digits."""
    return str(rng.randint(10**14, 10**16 - 1))


BUSINESS_NAMES = (
    "Lucky Shrub",
    "Café Ñandú",
    "Müller & Söhne",
    "São Paulo Pães",
    "Björk Outdoor",
    "Zoë's Bakery",
    "Łódź Logistics",
    "東京フラワー",
    "Acme Deliveries",
)

CUSTOMER_NAMES = (
    "Sheena Nelson",
    "José Álvarez",
    "Zoë Kowalczyk",
    "Łukasz Wiśniewski",
    "Priya Raman",
    "Ana Luíza Souza",
    "山田 太郎",
    "François Dupont",
)

INBOUND_TEXTS = (
    "Does it come in another color?",
    "¿Tienen envío a Guadalajara?",
    "Is my order 4471 on the way?",
    "Obrigado! Chegou tudo certo 👍",
    "Can I change the delivery address?",
    "Merci, à demain !",
)

ECHO_TEXTS = (
    "Here's the info you requested! https://shop.example.com/help",
    "Your table for 4 is booked for 19:30 ✅",
    "Gracias por tu compra, José.",
)

FLOW_NAMES = ("Appointment booking", "Lead form", "Survey 2026", "Sign-up")

TEMPLATES = (
    ("order_update", "UTILITY"),
    ("shipping_confirmation", "UTILITY"),
    ("appointment_reminder", "UTILITY"),
    ("abandoned_cart", "MARKETING"),
    ("spring_sale_2026", "MARKETING"),
    ("welcome_template", "MARKETING"),
    ("otp_login", "AUTHENTICATION"),
)
LANGUAGES = ("en_US", "en", "es_MX", "pt_BR", "de", "en-US")

TEMPLATE_EVENT_WEIGHTS = {
    "APPROVED": 8,
    "PENDING": 3,
    "REJECTED": 3,
    "PAUSED": 1,
    "DISABLED": 1,
    "FLAGGED": 1,
    "REINSTATED": 1,
    "PENDING_DELETION": 1,
    "ARCHIVED": 1,
    "IN_APPEAL": 1,
}
TEMPLATE_REJECTION_REASONS = (
    "INVALID_FORMAT",
    "INCORRECT_CATEGORY",
    "PROMOTIONAL",
    "ABUSIVE_CONTENT",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)
INVALID_FORMAT = (
    (
        "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
        "Separate parameters with descriptive text and ensure each parameter is clearly contextualized.",
    ),
    (
        "Your template starts or ends with a parameter.",
        "Add text before the first parameter and after the last one.",
    ),
)
PAUSE_DESCRIPTION = "Your WhatsApp message template has been paused for 3 hours because of low quality."

ACCOUNT_UPDATE_WEIGHTS = {
    "ACCOUNT_RESTRICTION": 3,
    "ACCOUNT_VIOLATION": 2,
    "DISABLED_UPDATE": 2,
    "PARTNER_ADDED": 2,
    "PARTNER_APP_INSTALLED": 1,
    "PARTNER_REMOVED": 1,
    "MM_LITE_TERMS_SIGNED": 1,
    "VOLUME_BASED_PRICING_TIER_UPDATE": 2,
    "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE": 1,
    "ACCOUNT_RECONNECTED": 1,
}
RESTRICTION_TYPES = [
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
    "RESTRICTED_BIZ_INITIATED_MESSAGING",
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING",
    "RESTRICTED_UTILITY_TEMPLATES",
    "RESTRICTED_BUSINESS_INITIATED_CALLING",
]
VIOLATION_TYPES = ("ADULT", "ALCOHOL", "SCAM", "DIRECT_SEND_UTILITY_CATEGORY_ABUSE_WARN")

NAME_REJECTION_REASONS = (
    "NAME_FORMAT_UNACCEPTABLE",
    "NAME_NOT_CONSISTENT",
    "NAME_ENDCLIENT_NOTRELATED",
    "NAME_INDIVIDUAL_ISSUE",
    "UNKNOWN",
)

ALERTS = (
    (
        "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
        "WARNING",
        "Limits cannot be increased for your business <BUSINESS_PORTFOLIO_NAME>. Use WhatsApp Business platform actively for several days and follow our messaging policies.",
    ),
    (
        "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
        "CRITICAL",
        "Your business is not eligible for increased messaging limits at this time.",
    ),
    (
        "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO",
        "WARNING",
        "We need more information about your business before we can increase your limits.",
    ),
    ("OBA_APPROVED", "INFORMATIONAL", "Your request for an Official Business Account was approved."),
    ("PROFILE_PICTURE_LOST", "WARNING", "The profile photo of your business phone number was removed."),
)

STATUS_ERRORS = (
    {
        "code": 131049,
        "title": "This message was not delivered to maintain healthy ecosystem engagement.",
        "message": "This message was not delivered to maintain healthy ecosystem engagement.",
        "error_data": {
            "details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
        },
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    },
    {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."},
    },
    {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {
            "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
        },
    },
)
VALUE_ERRORS = (
    {
        "code": 130429,
        "title": "Rate limit hit",
        "message": "Rate limit hit",
        "error_data": {"details": "Cloud API message throughput has been reached."},
        "href": "/docs/whatsapp/cloud-api/support/error-codes/",
    },
)
HISTORY_DECLINED = {
    "code": 2593109,
    "title": "History sync is turned off by the business from the WhatsApp Business App",
    "message": "History sync is turned off by the business from the WhatsApp Business App",
    "error_data": {"details": "History sharing is turned off by the business"},
}
