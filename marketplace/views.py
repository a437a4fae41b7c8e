"""Pages of the marketplace: the dashboard, a project with its work timer, earnings, payouts
and statements, fair pay."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import DomainError
from marketplace import payout_selectors, selectors, services
from marketplace.charts import weekly_earnings_svg
from marketplace.forms import DashboardFilterForm, ManualTimeForm
from marketplace.models import ManualTimeEntry


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = max(
        1, int(request.GET.get("page", "1")) if request.GET.get("page", "1").isdigit() else 1
    )
    per_page = 20
    board = selectors.dashboard_for(
        user=request.user,
        tier=filters.get("tier") or None,
        language=filters.get("language") or None,
        pay_model=filters.get("pay_model") or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    pages = max(1, -(-board.available_count // per_page))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "marketplace/dashboard.html",
        {
            "form": form,
            "board": board,
            "page": page,
            "pages": pages,
            "query": query.urlencode(),
            "profile": getattr(request.user, "profile", None),
        },
    )


@login_required
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_viewer(project_id=project_id, viewer=request.user)
    member = selectors.membership_live(user=request.user, project=project) is not None
    eligible, reasons = selectors.project_is_eligible(project=project, user=request.user)
    open_session = selectors.session_open_for(user=request.user)
    multiplier = selectors.multiplier_for_user(user=request.user)
    return render(
        request,
        "marketplace/project.html",
        {
            "project": project,
            "member": member,
            "eligible": eligible,
            "reasons": reasons,
            "effective_rate": (project.pay_rate * multiplier).quantize(project.pay_rate),
            "task_price": services.task_price(project) if project.pay_model == "per_task" else None,
            "multiplier": multiplier,
            "open_session": open_session,
            "sessions": selectors.sessions_for(user=request.user, project=project)[:10]
            if member
            else [],
            "entries": ManualTimeEntry.objects.filter(user=request.user, project=project)[:10]
            if member
            else [],
            "time_form": ManualTimeForm(),
            "seats_left": max(0, project.capacity - project.members_now),
            "idle_minutes": settings.MARKETPLACE_SESSION_IDLE_MINUTES,
            "actions": selectors.project_actions(
                user=request.user, project=project, is_member=member
            ),
        },
    )


def _act(request: HttpRequest, action: object, success: str, project_id: int) -> HttpResponse:
    try:
        action()  # type: ignore[operator]
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("marketplace:project", project_id)


@login_required
@require_POST
def project_join(request: HttpRequest, project_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: services.membership_join(project_id=project_id, user=request.user),
        "You joined the project. Start the timer when you begin work.",
        project_id,
    )


@login_required
@require_POST
def project_leave(request: HttpRequest, project_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: services.membership_leave(project_id=project_id, user=request.user),
        "You left the project.",
        project_id,
    )


@login_required
@require_POST
def session_start(request: HttpRequest, project_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: services.session_start(user=request.user, project_id=project_id),
        "The timer is running. Keep this page open while you work.",
        project_id,
    )


@login_required
@require_POST
def session_stop(request: HttpRequest, session_id: int) -> HttpResponse:
    session = services.session_stop(session_id=session_id, user=request.user)
    messages.success(request, "Stopped. Your time is recorded as a pending earning.")
    return redirect("marketplace:project", session.project_id)


@login_required
@require_POST
def session_heartbeat(request: HttpRequest, session_id: int) -> JsonResponse:
    try:
        session = services.session_heartbeat(session_id=session_id, user=request.user)
    except DomainError as error:
        return JsonResponse({"detail": error.message, "code": error.code}, status=error.http_status)
    return JsonResponse({"last_heartbeat_at": session.last_heartbeat_at.isoformat()})


@login_required
@require_POST
def manual_time(request: HttpRequest, project_id: int) -> HttpResponse:
    form = ManualTimeForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request,
                f"{form.fields[field].label if field in form.fields else field}: "
                + " ".join(errors),
            )
        return redirect("marketplace:project", project_id)
    return _act(
        request,
        lambda: services.manual_entry_create(
            user=request.user, project_id=project_id, **form.cleaned_data
        ),
        "Sent for approval. Staff approve or refuse manual time.",
        project_id,
    )


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    summary = selectors.earnings_summary(user=request.user)
    paginator = Paginator(selectors.earnings_for(user=request.user), 25)
    return render(
        request,
        "marketplace/earnings.html",
        {"summary": summary, "entries": paginator.get_page(request.GET.get("page"))},
    )


@login_required
def earnings_chart(request: HttpRequest) -> HttpResponse:
    summary = selectors.earnings_summary(user=request.user)
    svg = weekly_earnings_svg(weeks=summary.by_week, currency=summary.currency)
    response = HttpResponse(svg, content_type="image/svg+xml")
    # The page shows it as an <img>, where nothing in it runs; opened on its own, this policy
    # keeps pygal's inline configuration script from running either.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def fair_pay(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketplace.change_project"):
        raise DjangoPermissionDenied("Only staff see the fair-pay watch.")
    if request.method == "POST":
        try:
            created = services.fair_pay_top_up(
                project_id=int(request.POST.get("project", "0") or 0),
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
        except (DomainError, ValueError) as error:
            messages.error(request, getattr(error, "message", str(error)))
        else:
            total = sum((entry.amount for entry in created), start=0)
            messages.success(request, f"Topped up {len(created)} contributor(s), {total} in all.")
        return redirect("marketplace:fair_pay")
    return render(
        request,
        "marketplace/fair_pay.html",
        {"rows": services.fair_pay_report(viewer=request.user)},
    )


@login_required
def payouts(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(payout_selectors.payouts_for(user=request.user), 25)
    page = paginator.get_page(request.GET.get("page"))
    for payout in page:
        payout.shown_state = payout_selectors.contributor_state(payout)
    return render(request, "marketplace/payouts.html", {"payouts": page})


@login_required
def payout(request: HttpRequest, payout_id: int) -> HttpResponse:
    try:
        found = payout_selectors.payout_for(user=request.user, payout_id=payout_id)
    except DomainError as error:
        raise Http404(error.message) from error
    found.shown_state = payout_selectors.contributor_state(found)
    return render(
        request,
        "marketplace/payout.html",
        {"payout": found, "entries": payout_selectors.payout_entries(payout=found)},
    )


def _statement(request: HttpRequest, period_id: int | None) -> payout_selectors.Statement | None:
    try:
        return payout_selectors.statement_for(user=request.user, period_id=period_id)
    except DomainError:
        if period_id is not None:
            raise
        return None


@login_required
def statement(request: HttpRequest, period_id: int | None = None) -> HttpResponse:
    chosen = request.GET.get("period", "")
    if period_id is None and chosen.isdigit():
        return redirect("marketplace:statement", period_id=int(chosen))
    try:
        found = _statement(request, period_id)
    except DomainError as error:
        raise Http404(error.message) from error
    if found is not None:
        for item in found.payouts:
            item.shown_state = payout_selectors.contributor_state(item)
    return render(request, "marketplace/statement.html", {"statement": found})


@login_required
def statement_csv(request: HttpRequest, period_id: int) -> StreamingHttpResponse:
    try:
        found = payout_selectors.statement_for(user=request.user, period_id=period_id)
    except DomainError as error:
        raise Http404(error.message) from error
    response = StreamingHttpResponse(
        payout_selectors.statement_csv(found), content_type="text/csv; charset=utf-8"
    )
    name = f"statement-{found.period.ends_at:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
