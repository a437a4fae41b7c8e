"""HTTP API of payouts: a contributor's own payouts and statements, and the finance review of
pay periods, batches and payouts (build, approve, hold, reject, send, mark paid, audit,
reconciliation).

Contributors reach only their own rows (someone else's id is 404) and never see flags,
approvers or the audit. Every finance route needs `marketplace.review_payouts`; the services
check it again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from common.errors import NotFound
from contributors.api.permissions import has_permission
from marketplace import payout_selectors
from marketplace.api.payout_serializers import (
    ApproveUnflaggedOutput,
    BatchPayoutsQuery,
    FinancePayoutDetailOutput,
    FinancePayoutOutput,
    FinancePeriodOutput,
    MyPayoutDetailOutput,
    MyPayoutOutput,
    PayoutAuditOutput,
    PayoutAuditQuery,
    PayoutBatchDetailOutput,
    PayoutBatchOutput,
    PayoutDispatchOutput,
    PayoutRejectInput,
    PayoutSettingsInput,
    PayoutSettingsOutput,
    PayoutsMarkPaidInput,
    ReconciliationOutput,
    StatementOutput,
)
from marketplace.api.serializers import CountOutput, ReasonInput
from marketplace.models import Payout, PayoutAudit, PayoutBatch, PayoutDispatch, PayPeriod
from marketplace.services import payouts as services

FINANCE = has_permission("marketplace.review_payouts")
CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A CSV file, UTF-8.")
}


def _money_rows(totals: dict[str, Decimal]) -> list[dict[str, Any]]:
    return [{"currency": currency, "amount": totals[currency]} for currency in sorted(totals)]


def _batch(batch_id: int) -> PayoutBatch:
    batch = payout_selectors.batches_overview().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"Payout batch {batch_id} does not exist.")
    return batch


def _batch_detail(request: Request, batch: PayoutBatch) -> dict[str, Any]:
    batch.totals_list = payout_selectors.batch_totals(batch=batch)
    batch.dispatch_list = list(batch.dispatches.order_by("-created_at", "-id"))
    return PayoutBatchDetailOutput(batch, context={"request": request}).data


def _finance_payout(payout_id: int) -> Payout:
    payout = (
        Payout.objects.select_related("contributor")
        .prefetch_related("flags")
        .filter(pk=payout_id)
        .first()
    )
    if payout is None:
        raise NotFound(f"Payout {payout_id} does not exist.")
    return payout


# A contributor's own payouts and statements.


class MyPayoutListApi(GenericAPIView):
    serializer_class = MyPayoutOutput

    @extend_schema(
        operation_id="me_payouts_list",
        responses={200: MyPayoutOutput(many=True), **error_responses(401)},
        summary="The caller's own payouts, newest period first.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(payout_selectors.payouts_for(user=request.user))
        return self.get_paginated_response(MyPayoutOutput(page, many=True).data)


class MyPayoutDetailApi(APIView):
    @extend_schema(
        operation_id="me_payouts_retrieve",
        responses={200: MyPayoutDetailOutput, **error_responses(401, 404)},
        summary="One of the caller's payouts with the ledger entries it pays.",
    )
    def get(self, request: Request, payout_id: int) -> Response:
        payout = payout_selectors.payout_for(user=request.user, payout_id=payout_id)
        payout.entry_list = payout_selectors.payout_entries(payout=payout)
        return Response(MyPayoutDetailOutput(payout).data)


class MyStatementApi(APIView):
    @extend_schema(
        operation_id="me_statements_retrieve",
        responses={200: StatementOutput, **error_responses(401, 404)},
        summary="The caller's statement of a pay period: earnings approved in it, its payouts.",
    )
    def get(self, request: Request, period_id: int) -> Response:
        statement = payout_selectors.statement_for(user=request.user, period_id=period_id)
        data = {
            "period": statement.period,
            "approved_total": _money_rows(statement.approved_total),
            "paid_out": _money_rows(statement.paid_out),
            "in_review": _money_rows(statement.in_review),
            "payouts": statement.payouts,
            "entries": statement.entries,
            "periods": statement.periods,
        }
        return Response(StatementOutput(data).data)


class MyStatementCsvApi(APIView):
    @extend_schema(
        operation_id="me_statements_csv",
        responses={**CSV_RESPONSE, **error_responses(401, 404)},
        summary="The caller's statement of a pay period as a CSV download.",
    )
    def get(self, request: Request, period_id: int) -> StreamingHttpResponse:
        statement = payout_selectors.statement_for(user=request.user, period_id=period_id)
        response = StreamingHttpResponse(
            payout_selectors.statement_csv(statement), content_type="text/csv; charset=utf-8"
        )
        name = f"statement-{statement.period.ends_at:%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# Finance.


class PayoutSettingsApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payout_settings_retrieve",
        responses={200: PayoutSettingsOutput, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(PayoutSettingsOutput(services.payout_settings()).data)

    @extend_schema(
        operation_id="finance_payout_settings_update",
        request=PayoutSettingsInput,
        responses={200: PayoutSettingsOutput, **error_responses(400, 401, 403)},
        summary="Finance: change how periods are cut and payouts reviewed (audited).",
    )
    def patch(self, request: Request) -> Response:
        payload = PayoutSettingsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        settings = services.payout_settings_update(actor=request.user, **payload.validated_data)
        return Response(PayoutSettingsOutput(settings).data)


class PayPeriodListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, FINANCE]
    serializer_class = FinancePeriodOutput

    @extend_schema(
        operation_id="finance_periods_list",
        responses={200: FinancePeriodOutput(many=True), **error_responses(401, 403)},
        summary="Finance: pay periods, newest first, each with its batch once built.",
    )
    def get(self, request: Request) -> Response:
        # Periods are made on demand; listing them makes those up to now, so the open one shows.
        services.periods_ensure()
        page = self.paginate_queryset(PayPeriod.objects.select_related("batch"))
        return self.get_paginated_response(FinancePeriodOutput(page, many=True).data)


class PayPeriodBuildApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_periods_build",
        request=None,
        responses={
            200: OpenApiResponse(PayoutBatchDetailOutput, description="The batch is built."),
            202: OpenApiResponse(
                PayoutBatchDetailOutput,
                description="The batch is being built by a background job; its state turns "
                "`ready` when done (GET the batch to follow it).",
            ),
            **error_responses(401, 403, 404, 409),
        },
        summary="Finance: build a closed period's batch (or finish a stopped build).",
    )
    def post(self, request: Request, period_id: int) -> Response:
        batch = _batch(services.batch_build_request(period_id=period_id, actor=request.user).pk)
        ready = batch.state == PayoutBatch.State.READY
        return Response(_batch_detail(request, batch), status=200 if ready else 202)


class BatchListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, FINANCE]
    serializer_class = PayoutBatchOutput

    @extend_schema(
        operation_id="finance_batches_list",
        responses={200: PayoutBatchOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(payout_selectors.batches_overview())
        return self.get_paginated_response(PayoutBatchOutput(page, many=True).data)


class BatchDetailApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_batches_retrieve",
        responses={200: PayoutBatchDetailOutput, **error_responses(401, 403, 404)},
        summary="Finance: a batch with its totals per currency and state, and its dispatches.",
    )
    def get(self, request: Request, batch_id: int) -> Response:
        return Response(_batch_detail(request, _batch(batch_id)))


class BatchPayoutListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, FINANCE]
    serializer_class = FinancePayoutOutput

    @extend_schema(
        operation_id="finance_batch_payouts_list",
        parameters=[BatchPayoutsQuery],
        responses={200: FinancePayoutOutput(many=True), **error_responses(400, 401, 403, 404)},
        summary="Finance: a batch's payouts with their flags, flagged and largest first.",
    )
    def get(self, request: Request, batch_id: int) -> Response:
        query = BatchPayoutsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        batch = PayoutBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(f"Payout batch {batch_id} does not exist.")
        payouts = payout_selectors.payouts_in_batch(batch=batch, **query.validated_data)
        page = self.paginate_queryset(payouts)
        return self.get_paginated_response(FinancePayoutOutput(page, many=True).data)


class BatchApproveUnflaggedApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_batches_approve_unflagged",
        request=None,
        responses={200: ApproveUnflaggedOutput, **error_responses(401, 403, 404, 409)},
        summary="Finance: approve every unflagged payout of the batch (never one's own).",
    )
    def post(self, request: Request, batch_id: int) -> Response:
        counts = services.payouts_approve_unflagged(batch_id=batch_id, actor=request.user)
        return Response(ApproveUnflaggedOutput(counts).data)


class BatchSendApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_batches_send",
        request=None,
        responses={201: PayoutDispatchOutput, **error_responses(401, 403, 404, 409)},
        summary="Finance: hand the batch's approved payouts to the payment provider.",
    )
    def post(self, request: Request, batch_id: int) -> Response:
        dispatch = services.payouts_send(batch_id=batch_id, actor=request.user)
        return Response(
            PayoutDispatchOutput(dispatch, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class DispatchCsvApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_dispatches_csv",
        responses={**CSV_RESPONSE, **error_responses(401, 403, 404)},
        summary="Finance: download the file a dispatch handed to the provider.",
    )
    def get(self, request: Request, dispatch_id: int) -> FileResponse:
        dispatch = PayoutDispatch.objects.filter(pk=dispatch_id).first()
        if dispatch is None:
            raise NotFound(f"Dispatch {dispatch_id} does not exist.")
        if not dispatch.file:
            raise NotFound(f"Dispatch {dispatch_id} has no file: the provider took no payout.")
        return FileResponse(
            dispatch.file.open("rb"),
            as_attachment=True,
            filename=f"{dispatch.reference}.csv",
            content_type="text/csv; charset=utf-8",
        )


class FinancePayoutDetailApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payouts_retrieve",
        responses={200: FinancePayoutDetailOutput, **error_responses(401, 403, 404)},
        summary="Finance: a payout with its entries, flags with evidence, and audit trail.",
    )
    def get(self, request: Request, payout_id: int) -> Response:
        payout = _finance_payout(payout_id)
        payout.entry_list = payout_selectors.payout_entries(payout=payout)
        payout.audit_trail = payout_selectors.payout_audit(payout=payout)
        return Response(FinancePayoutDetailOutput(payout).data)


class PayoutApproveApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payouts_approve",
        request=None,
        responses={200: FinancePayoutOutput, **error_responses(401, 403, 404, 409)},
        summary="Finance: approve; at or above the four-eyes amount a second admin approves too.",
    )
    def post(self, request: Request, payout_id: int) -> Response:
        services.payout_approve(payout_id=payout_id, actor=request.user)
        return Response(FinancePayoutOutput(_finance_payout(payout_id)).data)


class PayoutHoldApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payouts_hold",
        request=ReasonInput,
        responses={200: FinancePayoutOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Finance: hold a payout; its entries are carried to the next batch.",
    )
    def post(self, request: Request, payout_id: int) -> Response:
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payout_hold(payout_id=payout_id, actor=request.user, **payload.validated_data)
        return Response(FinancePayoutOutput(_finance_payout(payout_id)).data)


class PayoutRejectApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payouts_reject",
        request=PayoutRejectInput,
        responses={200: FinancePayoutOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Finance: reject a payout, returning its entries to the balance or reversing them.",
    )
    def post(self, request: Request, payout_id: int) -> Response:
        payload = PayoutRejectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payout_reject(payout_id=payout_id, actor=request.user, **payload.validated_data)
        return Response(FinancePayoutOutput(_finance_payout(payout_id)).data)


class PayoutsMarkPaidApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_payouts_mark_paid",
        request=PayoutsMarkPaidInput,
        responses={200: CountOutput, **error_responses(400, 401, 403, 404, 409)},
        summary="Finance: mark sent payouts paid, all or none; their entries become paid.",
    )
    def post(self, request: Request) -> Response:
        payload = PayoutsMarkPaidInput(data=request.data)
        payload.is_valid(raise_exception=True)
        count = services.payouts_mark_paid(
            payout_ids=payload.validated_data["payouts"], actor=request.user
        )
        return Response(CountOutput({"count": count}).data)


class PayoutAuditListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, FINANCE]
    serializer_class = PayoutAuditOutput

    @extend_schema(
        operation_id="finance_audit_list",
        parameters=[PayoutAuditQuery],
        responses={200: PayoutAuditOutput(many=True), **error_responses(400, 401, 403)},
        summary="Finance: the payout audit log, newest first.",
    )
    def get(self, request: Request) -> Response:
        query = PayoutAuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        log = PayoutAudit.objects.select_related("actor")
        if "batch" in query.validated_data:
            log = log.filter(batch_id=query.validated_data["batch"])
        if "payout" in query.validated_data:
            log = log.filter(payout_id=query.validated_data["payout"])
        page = self.paginate_queryset(log.order_by("-at", "-id"))
        return self.get_paginated_response(PayoutAuditOutput(page, many=True).data)


class ReconciliationApi(APIView):
    permission_classes = [IsAuthenticated, FINANCE]

    @extend_schema(
        operation_id="finance_reconciliation_retrieve",
        responses={200: ReconciliationOutput, **error_responses(401, 403)},
        summary="Finance: check the ledger against the payouts; lists each broken rule.",
    )
    def get(self, request: Request) -> Response:
        breaks = services.ledger_reconcile()
        data = {
            "ok": not breaks,
            "breaks": [
                {
                    "rule": item.rule,
                    "description": item.description,
                    "rows": [[str(value) for value in row] for row in item.rows],
                }
                for item in breaks
            ],
        }
        return Response(ReconciliationOutput(data).data)
