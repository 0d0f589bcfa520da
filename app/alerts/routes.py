"""Alert settings under /o/{org}/alerts: owners and admins manage, viewers read, others get 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.alerts import queries, service
from app.alerts.models import AlertChannel, AlertRule, DeliveryStatus
from app.alerts.rules import parse_names
from app.alerts.tasks import url_policy
from app.events import catalog
from app.events.parsed import Severity
from app.lib.crypto import token_digest
from app.mail.service import Mail, MailError, mailer
from app.tenancy import queries as tenancy_queries
from app.tenancy.context import OrgContext, require_member
from app.tenancy.models import Role
from app.wabas import queries as wabas_queries
from app.web import toasts
from app.web.forms import form_fields, form_lists
from app.web.services import services
from app.web.templating import render, templates

Action = Callable[[AsyncSession, OrgContext, dict[str, str]], Awaitable[str]]


def _index(request: Request, ctx: OrgContext) -> RedirectResponse:
    return RedirectResponse(request.url_for("alerts:index", org_slug=ctx.org.slug), 303)


async def index(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        return await _page(request, session, ctx)


async def _page(
    request: Request,
    session: AsyncSession,
    ctx: OrgContext,
    *,
    rule_form: dict[str, list[str]] | None = None,
    rule_error: str | None = None,
    preview: str | None = None,
) -> Response:
    """The alerts page; with ``rule_error``, the rule form comes back as it was sent, the error
    beside it, and the answer is 400."""
    channels = await queries.channels(session, org_id=ctx.org_id)
    rules = await queries.rules(session, org_id=ctx.org_id)
    rule_channels = await queries.rule_channel_ids(session, org_id=ctx.org_id)
    context = {
        **await _rule_form_context(session, ctx, channels, rule_form, rule_error, preview),
        "channel_by_id": {c.id: c for c in channels},
        "rules": rules,
        "rule_channels": rule_channels,
    }
    return render(request, "alerts/index.html", context, status_code=400 if rule_error else 200)


async def _rule_form_context(
    session: AsyncSession,
    ctx: OrgContext,
    channels: list[AlertChannel],
    rule_form: dict[str, list[str]] | None,
    rule_error: str | None,
    preview: str | None,
) -> dict[str, object]:
    """What the rule form needs (the add form on the alerts page and the edit page): the pickers'
    choices and what was sent."""
    return {
        "ctx": ctx,
        "channels": channels,
        "wabas": await wabas_queries.wabas_of_org(session, ctx.org_id),
        "severities": ["info", "warning", "critical"],
        "account_fields": catalog.ACCOUNT_FIELDS,
        "message_fields": sorted(catalog.MESSAGE_FIELDS),
        "known_fields": catalog.FIELDS,
        "kinds": catalog.KINDS,
        "words": catalog.words,
        "rule_form": rule_form or {},
        "chosen_fields": parse_names(" ".join((rule_form or {}).get("fields", []))),
        "chosen_kinds": parse_names(" ".join((rule_form or {}).get("kinds", []))),
        "rule_error": rule_error,
        "preview": preview,
        "preview_days": service.PREVIEW_DAYS,
    }


async def _admin_action(request: Request, run: Action) -> Response:
    """Authorise as admin, run one service call, toast its message (or the refusal), redirect."""
    form = await form_fields(request)
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            message = await run(session, ctx, form)
        except service.NotFound as exc:
            raise HTTPException(404) from exc
        except service.AlertsError as exc:
            toasts.add(request, str(exc), "error")
            return _index(request, ctx)
    toasts.add(request, message, "success")
    return _index(request, ctx)


def _wake_alerts(request: Request) -> None:
    """The in-process alert worker (SQLite) sends at once instead of at its next poll."""
    worker = getattr(request.app.state, "alert_worker", None)
    if worker is not None:
        worker.wakeup.set()


def _id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    return value


async def add_email(request: Request) -> Response:
    svc = services(request)
    form = await form_fields(request)
    async with svc.db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            created = await service.add_email_channel(session, ctx, address=form.get("address", ""))
        except service.AlertsError as exc:
            toasts.add(request, str(exc), "error")
            return _index(request, ctx)
        address = created.channel.label
    if created.confirm_token is None:
        toasts.add(request, f"{address} will receive alerts.", "success")
        return _index(request, ctx)
    url = (
        svc.settings.base_url
        + request.url_for("alerts:confirm", org_slug=ctx.org.slug, token=created.confirm_token).path
    )
    mail = Mail(
        to=address,
        subject=f"Confirm alerts from {ctx.org.name} on wabawatch",
        text=templates.env.get_template("emails/alert.confirm.txt").render(url=url, org=ctx.org, by=ctx.user),
    )
    try:
        await mailer(request).send(mail)
    except MailError as exc:
        toasts.add(request, f"{address} is added, but the confirmation mail failed: {exc}.", "error")
        return _index(request, ctx)
    toasts.add(
        request, f"A confirmation link was sent to {address}; alerts start once it is opened.", "success"
    )
    return _index(request, ctx)


async def add_slack(request: Request) -> Response:
    policy = url_policy(services(request).settings)

    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        channel = await service.add_slack_channel(
            session,
            ctx,
            url=form.get("url", ""),
            name=form.get("name", ""),
            policy=policy,
        )
        return f"{channel.label} will receive alerts."

    return await _admin_action(request, run)


async def send_test(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        await service.send_test(session, ctx, channel_id=_id(request, "channel_id"))
        return "A test alert is on its way; the delivery log shows how it went."

    response = await _admin_action(request, run)
    _wake_alerts(request)
    return response


async def channel_enabled(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        on = form.get("enabled") == "1"
        channel = await service.set_channel_enabled(
            session,
            ctx,
            channel_id=_id(request, "channel_id"),
            enabled=on,
        )
        return f"{channel.label} is {'enabled' if on else 'disabled'}."

    return await _admin_action(request, run)


async def channel_digest(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        daily = form.get("daily") == "1"
        channel = await service.set_channel_digest(
            session,
            ctx,
            channel_id=_id(request, "channel_id"),
            daily=daily,
        )
        return f"{channel.label} gets {'one daily digest' if daily else 'each alert as it happens'}."

    return await _admin_action(request, run)


async def channel_delete(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        channel = await service.delete_channel(session, ctx, channel_id=_id(request, "channel_id"))
        return f"{channel.label} is removed."

    return await _admin_action(request, run)


def _int(value: str, default: int) -> int:
    try:
        return int(value.strip()) if value.strip() else default
    except ValueError as exc:
        raise service.AlertsError(f"{value!r} is not a number.") from exc


def _rule_input(form: dict[str, list[str]]) -> service.RuleInput:
    """The rule form as a ``RuleInput``; fields and kinds come from multiple choices (a value may
    also be a comma-separated list, as scripts and the older form send). Raises ``AlertsError``."""

    def one(name: str) -> str:
        return (form.get(name) or [""])[0]

    return service.RuleInput(
        name=one("name"),
        fields=parse_names(" ".join(form.get("fields", []))),
        kinds=parse_names(" ".join(form.get("kinds", []))),
        min_severity=one("min_severity"),
        waba_ids=[v for v in form.get("waba", []) if v],
        channel_ids=[_int(v, 0) for v in form.get("channel", [])],
        throttle_minutes=_int(one("throttle_minutes"), 10),
    )


async def add_rule(request: Request) -> Response:
    """A refused rule comes back in its form with the reason beside it (400), never a 500: every
    field is parsed here, after the membership check, inside the form's error handling."""
    form = await form_lists(request)
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            rule = await service.create_rule(session, ctx, _rule_input(form))
        except service.AlertsError as exc:
            error = str(exc)
        else:
            toasts.add(request, f"The rule {rule.name} is saved.", "success")
            return _index(request, ctx)
    async with services(request).db.read() as session:
        return await _page(request, session, ctx, rule_form=form, rule_error=error)


def _form_of(rule: AlertRule, channel_ids: list[int]) -> dict[str, list[str]]:
    """A saved rule as the form would send it."""
    return {
        "name": [rule.name],
        "fields": list(rule.fields),
        "kinds": list(rule.kinds),
        "min_severity": [Severity(rule.min_severity).label if rule.min_severity is not None else ""],
        "waba": list(rule.waba_ids),
        "channel": [str(c) for c in channel_ids],
        "throttle_minutes": [str(rule.throttle_minutes)],
    }


async def _edit_page(
    request: Request,
    session: AsyncSession,
    ctx: OrgContext,
    rule: AlertRule,
    form: dict[str, list[str]],
    *,
    error: str | None = None,
    preview: str | None = None,
) -> Response:
    channels = await queries.channels(session, org_id=ctx.org_id)
    context = {**await _rule_form_context(session, ctx, channels, form, error, preview), "rule": rule}
    return render(request, "alerts/rule_edit.html", context, status_code=400 if error else 200)


async def edit_rule(request: Request) -> Response:
    """GET: the rule in its form. POST: the rule replaced by the form's; a refusal comes back in
    the form with the reason (400)."""
    rule_id = _id(request, "rule_id")
    if request.method == "GET":
        async with services(request).db.read() as session:
            ctx = await require_member(request, session, role=Role.ADMIN)
            rule = await queries.rule(session, org_id=ctx.org_id, rule_id=rule_id)
            if rule is None:
                raise HTTPException(404)
            channel_ids = (await queries.rule_channel_ids(session, org_id=ctx.org_id)).get(rule.id, [])
            return await _edit_page(request, session, ctx, rule, _form_of(rule, channel_ids))
    form = await form_lists(request)
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            rule = await service.update_rule(session, ctx, rule_id=rule_id, data=_rule_input(form))
        except service.NotFound as exc:
            raise HTTPException(404) from exc
        except service.AlertsError as exc:
            error = str(exc)
        else:
            toasts.add(request, f"The rule {rule.name} is saved.", "success")
            return _index(request, ctx)
    async with services(request).db.read() as session:
        found = await queries.rule(session, org_id=ctx.org_id, rule_id=rule_id)
        if found is None:
            raise HTTPException(404)
        return await _edit_page(request, session, ctx, found, form, error=error)


async def preview_rule(request: Request) -> Response:
    """How many events of the last days the form's conditions would have matched. HTMX gets the
    sentence alone; a plain form post gets its page back with the sentence and the form as sent."""
    form = await form_lists(request)
    raw_id = (form.get("rule_id") or [""])[0].strip()
    rule_id = int(raw_id) if raw_id.isdigit() and len(raw_id) <= 18 else 0
    async with services(request).db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        rule = await queries.rule(session, org_id=ctx.org_id, rule_id=rule_id) if rule_id else None
        if rule_id and rule is None:
            raise HTTPException(404)
        error: str | None = None
        try:
            count = await service.preview_rule(session, ctx, _rule_input(form))
        except service.AlertsError as exc:
            error, said = str(exc), ""
        else:
            said = _preview_words(count)
        if request.headers.get("HX-Request") == "true":
            context = {"preview": said, "rule_error": error}
            return render(request, "alerts/_preview.html", context, status_code=400 if error else 200)
        if rule is not None:
            return await _edit_page(request, session, ctx, rule, form, error=error, preview=said)
        return await _page(request, session, ctx, rule_form=form, rule_error=error, preview=said)


def _preview_words(count: int) -> str:
    events = "event" if count == 1 else "events"
    return f"Would have matched {count:,} {events} in the last {service.PREVIEW_DAYS} days."


async def rule_enabled(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        on = form.get("enabled") == "1"
        rule = await service.set_rule_enabled(
            session,
            ctx,
            rule_id=_id(request, "rule_id"),
            enabled=on,
        )
        return f"The rule {rule.name} is {'enabled' if on else 'disabled'}."

    return await _admin_action(request, run)


async def rule_delete(request: Request) -> Response:
    async def run(session: AsyncSession, ctx: OrgContext, form: dict[str, str]) -> str:
        rule = await service.delete_rule(session, ctx, rule_id=_id(request, "rule_id"))
        return f"The rule {rule.name} is removed."

    return await _admin_action(request, run)


async def deliveries(request: Request) -> Response:
    status = request.query_params.get("status") or None
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        rows = await queries.deliveries(session, org_id=ctx.org_id, status=status)
        channels = {c.id: c for c in await queries.channels(session, org_id=ctx.org_id)}
    return render(
        request,
        "alerts/deliveries.html",
        {
            "ctx": ctx,
            "rows": rows,
            "channels": channels,
            "status": status or "",
            "failed": DeliveryStatus.FAILED,
        },
    )


async def retry(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            await service.retry_delivery(session, ctx, delivery_id=_id(request, "delivery_id"))
        except service.NotFound as exc:
            raise HTTPException(404) from exc
        except service.AlertsError as exc:
            toasts.add(request, str(exc), "error")
        else:
            toasts.add(request, "The delivery is queued again.", "success")
    _wake_alerts(request)
    return RedirectResponse(request.url_for("alerts:deliveries", org_slug=ctx.org.slug), 303)


async def confirm(request: Request) -> Response:
    """The link from the confirmation mail (no sign-in needed). A made-up or used token is a plain
    404 that shows nothing of the org. GET only shows a button, so mail scanners that open links do
    not confirm addresses."""
    token = request.path_params["token"]
    async with services(request).db.transaction() as session:
        org = await tenancy_queries.org_by_slug(session, request.path_params["org_slug"])
        pending = (
            None
            if org is None
            else await queries.channel_by_confirm_digest(session, org_id=org.id, digest=token_digest(token))
        )
        if org is None or pending is None:
            raise HTTPException(404)
        if request.method == "GET":
            return render(request, "alerts/confirm.html", {"org_name": org.name, "done": None})
        channel = await service.confirm_email_channel(session, org_id=org.id, token=token)
        done = channel.label if channel else None
    return render(request, "alerts/confirm.html", {"org_name": org.name, "done": done})


routes = [
    Route("/o/{org_slug}/alerts", index, name="alerts:index"),
    Route("/o/{org_slug}/alerts/channels/email", add_email, methods=["POST"], name="alerts:add_email"),
    Route("/o/{org_slug}/alerts/channels/slack", add_slack, methods=["POST"], name="alerts:add_slack"),
    Route(
        "/o/{org_slug}/alerts/channels/{channel_id:id}/test", send_test, methods=["POST"], name="alerts:test"
    ),
    Route(
        "/o/{org_slug}/alerts/channels/{channel_id:id}/enabled",
        channel_enabled,
        methods=["POST"],
        name="alerts:channel_enabled",
    ),
    Route(
        "/o/{org_slug}/alerts/channels/{channel_id:id}/digest",
        channel_digest,
        methods=["POST"],
        name="alerts:channel_digest",
    ),
    Route(
        "/o/{org_slug}/alerts/channels/{channel_id:id}/delete",
        channel_delete,
        methods=["POST"],
        name="alerts:channel_delete",
    ),
    Route("/o/{org_slug}/alerts/rules", add_rule, methods=["POST"], name="alerts:add_rule"),
    Route("/o/{org_slug}/alerts/rules/preview", preview_rule, methods=["POST"], name="alerts:preview_rule"),
    Route(
        "/o/{org_slug}/alerts/rules/{rule_id:id}/edit",
        edit_rule,
        methods=["GET", "POST"],
        name="alerts:edit_rule",
    ),
    Route(
        "/o/{org_slug}/alerts/rules/{rule_id:id}/enabled",
        rule_enabled,
        methods=["POST"],
        name="alerts:rule_enabled",
    ),
    Route(
        "/o/{org_slug}/alerts/rules/{rule_id:id}/delete",
        rule_delete,
        methods=["POST"],
        name="alerts:rule_delete",
    ),
    Route("/o/{org_slug}/alerts/deliveries", deliveries, name="alerts:deliveries"),
    Route(
        "/o/{org_slug}/alerts/deliveries/{delivery_id:id}/retry",
        retry,
        methods=["POST"],
        name="alerts:retry",
    ),
    Route("/o/{org_slug}/alerts/confirm/{token}", confirm, methods=["GET", "POST"], name="alerts:confirm"),
]
