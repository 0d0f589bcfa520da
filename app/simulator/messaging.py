"""Builders for the messages family of fields (no ``entry.time``; metadata names the number)."""

from __future__ import annotations

from app.simulator import values as v
from app.simulator.base import JSON, Change, FactoryBase, SimWaba


class MessagingFields(FactoryBase):
    def messages(self, waba: SimWaba) -> Change:
        _, value = self.messaging_value(waba)
        shape = self.pick(["status", "inbound", "errors"], [14, 5, 1])
        if shape == "errors":
            value["errors"] = [self.pick(v.VALUE_ERRORS)]
        elif shape == "inbound":
            customer, name = v.phone_digits(self.rng), self.pick(v.CUSTOMER_NAMES)
            value["contacts"] = [{"profile": {"name": name}, "wa_id": customer}]
            value["messages"] = [
                {
                    "from": customer,
                    "id": self.wamid(),
                    "timestamp": str(self.unix()),
                    "type": "text",
                    "text": {"body": self.pick(v.INBOUND_TEXTS)},
                }
            ]
        else:
            value["statuses"] = [self.status() for _ in range(self.pick([1, 1, 1, 2, 3]))]
        return Change(waba.waba_id, "messages", value, has_time=False)

    def status(self) -> JSON:
        status = self.pick(["sent", "delivered", "read", "failed"], [4, 4, 3, 1])
        item: JSON = {
            "id": self.wamid(),
            "status": status,
            "timestamp": str(self.unix()),
            "recipient_id": v.phone_digits(self.rng),
        }
        if status in ("sent", "delivered"):
            category = self.pick(["marketing", "utility", "authentication", "service"])
            item["pricing"] = {
                "billable": True,
                "pricing_model": "PMP",
                "type": "regular",
                "category": category,
            }
        if status == "failed":
            item["errors"] = [self.pick(v.STATUS_ERRORS)]
        return item

    def user_preferences(self, waba: SimWaba) -> Change:
        _, value = self.messaging_value(waba)
        customer, choice = v.phone_digits(self.rng), self.pick(["stop", "resume"])
        value["contacts"] = [{"wa_id": customer}]
        value["user_preferences"] = [
            {
                "wa_id": customer,
                "detail": f"User requested to {choice} marketing messages",
                "category": "marketing_messages",
                "value": choice,
                "timestamp": self.unix(),
            }
        ]
        return Change(waba.waba_id, "user_preferences", value, has_time=False)

    def automatic_events(self, waba: SimWaba) -> Change:
        _, value = self.messaging_value(waba)
        event: JSON = {
            "id": self.wamid(),
            "event_name": self.pick(["LeadSubmitted", "Purchase"]),
            "timestamp": self.unix(),
        }
        if event["event_name"] == "Purchase":
            event["custom_data"] = {
                "currency": self.pick(["USD", "BRL", "INR"]),
                "value": self.rng.randint(5, 400),
            }
        value["automatic_events"] = [event]
        return Change(waba.waba_id, "automatic_events", value, has_time=False)

    def smb_app_state_sync(self, waba: SimWaba) -> Change:
        _, value = self.messaging_value(waba)
        full_name = self.pick(v.CUSTOMER_NAMES)
        value["state_sync"] = [
            {
                "type": "contact",
                "contact": {
                    "full_name": full_name,
                    "first_name": full_name.split()[0],
                    "phone_number": v.phone_digits(self.rng),
                },
                "action": self.pick(["add", "remove"]),
                "metadata": {"timestamp": str(self.unix())},
            }
        ]
        return Change(waba.waba_id, "smb_app_state_sync", value, has_time=False)

    def smb_message_echoes(self, waba: SimWaba) -> Change:
        phone, value = self.messaging_value(waba)
        value["message_echoes"] = [
            {
                "from": phone.digits,
                "to": v.phone_digits(self.rng),
                "id": self.wamid(),
                "timestamp": str(self.unix()),
                "type": "text",
                "text": {"body": self.pick(v.ECHO_TEXTS)},
            }
        ]
        return Change(waba.waba_id, "smb_message_echoes", value, has_time=False)

    def history(self, waba: SimWaba) -> Change:
        _, value = self.messaging_value(waba)
        value["history"] = [{"errors": [v.HISTORY_DECLINED]}]
        return Change(waba.waba_id, "history", value, has_time=False)
