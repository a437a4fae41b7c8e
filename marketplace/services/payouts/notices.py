"""E-mail notices to contributors when a payout is sent or held."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.models import Payout, PayoutAudit

logger = logging.getLogger(__name__)

SUBJECTS = {
    "sent": "Your EvalMarket payout of {amount} {currency} is on its way",
    "held": "Your EvalMarket payout of {amount} {currency} is on hold",
}


def payout_notice_send(*, payout_id: int, event: str) -> bool:
    """Mail the contributor about their payout, once per payout and event (a redelivered job
    finds the notice recorded and sends nothing). Returns whether a mail went out."""
    if event not in SUBJECTS:
        raise ValueError(f"Unknown payout notice {event!r}.")
    payout = (
        Payout.objects.select_related("contributor", "batch__period").filter(pk=payout_id).first()
    )
    if payout is None:
        return False
    action = f"notice_{event}"
    if PayoutAudit.objects.filter(payout=payout, action=action).exists():
        return False
    link = settings.SITE_URL.rstrip("/") + reverse("marketplace:payout", args=[payout.pk])
    context = {"payout": payout, "link": link, "user": payout.contributor}
    send_mail(
        subject=SUBJECTS[event].format(amount=payout.amount, currency=payout.currency),
        message=render_to_string(f"marketplace/email/payout_{event}.txt", context),
        from_email=None,
        recipient_list=[payout.contributor.email],
    )
    PayoutAudit.objects.create(payout=payout, batch_id=payout.batch_id, action=action)
    logger.info("payouts.notice_sent", extra={"payout_id": payout.pk, "event": event})
    return True
