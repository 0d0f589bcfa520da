"""The pages that start, join and run an org: sign-up, the org switcher (and a new org), accepting
an invitation, members and invitations, and the org's settings. Templates and links call them by
their route names, ``tenancy:*`` and ``auth:signup``."""

from __future__ import annotations

from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth import service as auth_service
from app.lib.timeutil import utcnow
from app.mail.service import Mail, MailError, mailer
from app.orgs import service
from app.tenancy import queries
from app.tenancy.context import OrgContext, require_member, require_signed_in
from app.tenancy.models import Role
from app.tenancy.session import current_user, login_user
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render, templates


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise service.TenancyError("Choose owner, admin or viewer.") from exc


async def root(request: Request) -> Response:
    async with services(request).db.read() as session:
        user = await current_user(request, session)
    if user is None:
        return RedirectResponse(request.url_for("auth:login"), 303)
    return RedirectResponse(request.url_for("tenancy:orgs"), 303)


async def orgs(request: Request) -> Response:
    """The org switcher's page: every org of the user, and a form to create another."""
    svc = services(request)
    error = None
    async with svc.db.transaction() as session:
        user = await require_signed_in(request, session)
        if request.method == "POST":
            form = await form_fields(request)
            try:
                org = await service.create_org(session, name=form.get("name", ""), owner=user)
            except service.TenancyError as exc:
                error = str(exc)
            else:
                toasts.add(request, f"{org.name} is created.", "success")
                return RedirectResponse(request.url_for("tenancy:home", org_slug=org.slug), 303)
        elif len(request.state.user_orgs) == 1 and "switch" not in request.query_params:
            only = request.state.user_orgs[0][0]
            return RedirectResponse(request.url_for("tenancy:home", org_slug=only.slug), 303)
    return render(request, "tenancy/orgs.html", {"error": error}, status_code=400 if error else 200)


async def members(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        member_list = await queries.members(session, org_id=ctx.org_id)
        invitations = await queries.pending_invitations(session, org_id=ctx.org_id, now=utcnow())
    return render(
        request,
        "tenancy/members.html",
        {"ctx": ctx, "members": member_list, "invitations": invitations, "roles": list(Role)},
    )


def _invitation_mail(request: Request, ctx: OrgContext, created: service.NewInvitation) -> Mail:
    settings = services(request).settings
    url = settings.base_url + request.url_for("tenancy:invitation", token=created.token).path
    return Mail(
        to=created.invitation.email,
        subject=f"You are invited to {ctx.org.name} on wabawatch",
        text=templates.env.get_template("emails/invitation.txt").render(
            url=url,
            org=ctx.org,
            inviter=ctx.user,
            role=created.invitation.role,
            days=settings.invitation_max_age_seconds // 86400,
        ),
    )


async def invite(request: Request) -> Response:
    svc = services(request)
    form = await form_fields(request)
    async with svc.db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            created = await service.invite(
                session,
                ctx,
                email=form.get("email", ""),
                role=_role(form.get("role", "viewer")),
                max_age=timedelta(seconds=svc.settings.invitation_max_age_seconds),
            )
        except service.TenancyError as exc:
            toasts.add(request, str(exc), "error")
            return RedirectResponse(request.url_for("tenancy:members", org_slug=ctx.org.slug), 303)
    members_page = request.url_for("tenancy:members", org_slug=ctx.org.slug)
    try:
        await mailer(request).send(_invitation_mail(request, ctx, created))
    except MailError as exc:
        toasts.add(
            request,
            f"The invitation for {created.invitation.email} is saved, but {exc}. "
            "Withdraw it and invite again once mail works.",
            "error",
        )
        return RedirectResponse(members_page, 303)
    again = " again, with a new link (the earlier one no longer works)" if created.renewed else ""
    toasts.add(request, f"Invitation sent to {created.invitation.email}{again}.", "success")
    return RedirectResponse(members_page, 303)


async def revoke_invitation(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        found = await service.revoke_invitation(
            session, ctx, invitation_id=request.path_params["invitation_id"]
        )
        if found is None:
            raise HTTPException(404)
    toasts.add(request, f"The invitation for {found.email} is withdrawn.", "success")
    return RedirectResponse(request.url_for("tenancy:members", org_slug=ctx.org.slug), 303)


async def change_role(request: Request) -> Response:
    form = await form_fields(request)
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            membership = await service.change_role(
                session,
                ctx,
                membership_id=request.path_params["membership_id"],
                role=_role(form.get("role", "")),
            )
        except service.MemberNotFound as exc:
            raise HTTPException(404) from exc
        except service.TenancyError as exc:
            toasts.add(request, str(exc), "error")
        else:
            toasts.add(request, f"Role changed to {membership.role}.", "success")
    return RedirectResponse(request.url_for("tenancy:members", org_slug=ctx.org.slug), 303)


async def remove_member(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session)
        try:
            removed = await service.remove_member(
                session, ctx, membership_id=request.path_params["membership_id"]
            )
        except service.MemberNotFound as exc:
            raise HTTPException(404) from exc
        except service.NotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc
        except service.TenancyError as exc:
            toasts.add(request, str(exc), "error")
            return RedirectResponse(request.url_for("tenancy:members", org_slug=ctx.org.slug), 303)
    if removed.user_id == ctx.user.id:
        toasts.add(request, f"You left {ctx.org.name}.", "success")
        return RedirectResponse(request.url_for("tenancy:orgs"), 303)
    toasts.add(request, "The member is removed.", "success")
    return RedirectResponse(request.url_for("tenancy:members", org_slug=ctx.org.slug), 303)


async def org_settings(request: Request) -> Response:
    error = None
    async with services(request).db.transaction() as session:
        if request.method == "GET":
            ctx = await require_member(request, session)
        else:
            ctx = await require_member(request, session, role=Role.ADMIN)
            form = await form_fields(request)
            try:
                await service.rename_org(session, ctx, name=form.get("name", ""))
            except service.TenancyError as exc:
                error = str(exc)
            else:
                toasts.add(request, "Settings saved.", "success")
                return RedirectResponse(request.url_for("tenancy:settings", org_slug=ctx.org.slug), 303)
    return render(
        request, "tenancy/settings.html", {"ctx": ctx, "error": error}, status_code=400 if error else 200
    )


async def signup(request: Request) -> Response:
    svc = services(request)
    if not svc.settings.signup_enabled:
        return render(request, "auth/signup_closed.html", status_code=404)
    values = {"email": "", "name": "", "org_name": ""}
    if request.method == "GET":
        return render(request, "auth/signup.html", {"values": values, "error": None})
    form = await form_fields(request)
    values = {k: form.get(k, "") for k in values}
    try:
        async with svc.db.transaction() as session:
            user, org = await service.sign_up(
                session,
                svc.hasher,
                email=values["email"],
                password=form.get("password", ""),
                org_name=values["org_name"],
                name=values["name"],
            )
            await login_user(request, session, user)
    except (auth_service.AuthError, ValueError) as exc:
        return render(request, "auth/signup.html", {"values": values, "error": str(exc)}, status_code=400)
    toasts.add(request, f"Welcome! {org.name} is ready.", "success")
    return RedirectResponse(request.url_for("tenancy:home", org_slug=org.slug), 303)


async def invitation(request: Request) -> Response:
    """Accept an invitation: signed in → join; a new address → create the account here."""
    svc = services(request)
    token = request.path_params["token"]
    error = None
    async with svc.db.transaction() as session:
        try:
            invite_row, org = await service.usable_invitation(session, token)
        except service.TenancyError as exc:
            return render(
                request, "tenancy/invitation.html", {"error": str(exc), "org": None}, status_code=400
            )
        user = await current_user(request, session)
        existing = await queries.user_by_email(session, invite_row.email)
        context = {"org": org, "invitation": invite_row, "user": user, "existing": existing, "error": None}
        if request.method == "GET":
            return render(request, "tenancy/invitation.html", context)
        form = await form_fields(request)
        try:
            if user is None and existing is None:
                user = await auth_service.create_user(
                    session,
                    svc.hasher,
                    email=invite_row.email,
                    password=form.get("password", ""),
                    name=form.get("name", ""),
                    email_verified=True,
                )
            if user is None:
                raise service.TenancyError("Sign in with your account first, then open the link again.")
            await service.accept_invitation(session, token=token, user=user)
            await login_user(request, session, user)
        except (service.TenancyError, auth_service.AuthError) as exc:
            error = str(exc)
    if error is not None:
        return render(request, "tenancy/invitation.html", {**context, "error": error}, status_code=400)
    toasts.add(request, f"You joined {org.name}.", "success")
    return RedirectResponse(request.url_for("tenancy:home", org_slug=org.slug), 303)


routes = [
    Route("/signup", signup, methods=["GET", "POST"], name="auth:signup"),
    Route("/", root, name="tenancy:root"),
    Route("/orgs", orgs, methods=["GET", "POST"], name="tenancy:orgs"),
    Route("/invitations/{token}", invitation, methods=["GET", "POST"], name="tenancy:invitation"),
    Route("/o/{org_slug}/members", members, name="tenancy:members"),
    Route("/o/{org_slug}/members/invite", invite, methods=["POST"], name="tenancy:invite"),
    Route(
        "/o/{org_slug}/members/{membership_id:id}/role",
        change_role,
        methods=["POST"],
        name="tenancy:change_role",
    ),
    Route(
        "/o/{org_slug}/members/{membership_id:id}/remove",
        remove_member,
        methods=["POST"],
        name="tenancy:remove_member",
    ),
    Route(
        "/o/{org_slug}/invitations/{invitation_id:id}/revoke",
        revoke_invitation,
        methods=["POST"],
        name="tenancy:revoke_invitation",
    ),
    Route("/o/{org_slug}/settings", org_settings, methods=["GET", "POST"], name="tenancy:settings"),
]
