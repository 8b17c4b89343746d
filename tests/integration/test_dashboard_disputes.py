"""Answering a dispute from the payment's page: evidence saved as a draft at Stripe, or
submitted to the bank through a confirmation page, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from paydesk.disputes.models import Dispute
from paydesk.disputes.schemas import DisputeEvidence
from paydesk.payments.models import PaymentFact
from paydesk.web.dashboard.evidence_form import EVIDENCE_FIELDS, evidence_due
from tests.integration.conftest import OPERATOR_EMAIL, Api, Dashboard
from tests.integration.test_dashboard_payments import parse, text
from tests.integration.test_disputes_api import disputed


def evidence_url(payment_id: str, dispute_id: str, step: str) -> str:
    return f"/dashboard/payments/{payment_id}/disputes/{dispute_id}/{step}"


def updates(api: Api) -> int:
    return api.stripe.calls.count("update_dispute")


async def dispute_row(api: Api, dispute_id: str) -> Dispute:
    async with api.db.sessions() as session:
        row = await session.get(Dispute, dispute_id)
    assert row is not None
    return row


async def test_the_form_has_every_evidence_field_and_the_due_date(
    api: Api, dashboard: Dashboard
) -> None:
    payment, dispute_id = await disputed(api)
    answer = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert answer.status_code == 200
    shown = text(answer)
    due = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert f"Evidence for dispute {dispute_id} Evidence due {due} (in 7 days)" in shown
    assert f'action="{evidence_url(payment["id"], dispute_id, "draft")}"' in answer.text
    assert f'formaction="{evidence_url(payment["id"], dispute_id, "submit")}"' in answer.text
    assert {f.name for f in EVIDENCE_FIELDS} == set(DisputeEvidence.model_fields) - {"submit"}
    for field in EVIDENCE_FIELDS:
        assert f'<label for="evidence-{dispute_id}-{field.name}">{field.label}</label>' in (
            answer.text
        )
    assert "paydesk keeps no copy of the evidence" in shown


def test_the_due_date_in_words() -> None:
    now = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    cases = {
        datetime(2026, 12, 3, 23, 59, tzinfo=UTC): ("2026-12-03", "in 7 days", False),
        datetime(2026, 11, 27, 1, 0, tzinfo=UTC): ("2026-11-27", "tomorrow", True),
        datetime(2026, 11, 26, 23, 0, tzinfo=UTC): ("2026-11-26", "today", True),
        datetime(2026, 11, 26, 21, 0, tzinfo=UTC): ("2026-11-26", "overdue", True),
    }
    for due_by, (date, left, urgent) in cases.items():
        due = evidence_due(due_by, now)
        assert due is not None
        assert (due.date, due.left, due.urgent) == (date, left, urgent)
    assert evidence_due(None, now) is None


async def test_a_draft_goes_to_stripe_and_changes_nothing_final(
    api: Api, dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paydesk.web.dashboard")
    payment, dispute_id = await disputed(api)
    saved = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "draft"),
        {
            "customer_name": "  Ada Lovelace ",
            "product_description": "Two T-shirts and a mug,\r\ndelivered on time.",
            "shipping_carrier": "",  # left empty: not sent, so Stripe keeps what it has
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/dashboard/payments/{payment['id']}?notice=evidence_saved"
    assert api.stripe.disputes[dispute_id]["evidence"] == {
        "customer_name": "Ada Lovelace",
        "product_description": "Two T-shirts and a mug,\ndelivered on time.",
    }
    assert api.stripe.disputes[dispute_id]["status"] == "needs_response"
    row = await dispute_row(api, dispute_id)
    assert (row.status, row.evidence_submitted) == ("needs_response", False)
    after = text(await dashboard.client.get(saved.headers["location"]))
    assert "Evidence saved at Stripe as a draft: nothing went to the bank yet." in after
    assert "Save draft" in after  # the form stays for more
    assert f"dashboard evidence draft for {dispute_id} of {payment['id']} by {OPERATOR_EMAIL}" in (
        caplog.text
    )
    empty = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "draft"),
        {"customer_name": " ", "shipping_date": ""},
    )
    assert empty.status_code == 400
    assert "Every field is empty: there is nothing to save." in text(empty)
    assert updates(api) == 1


async def test_submitting_goes_through_a_confirmation_page(
    api: Api, dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paydesk.web.dashboard")
    payment, dispute_id = await disputed(api)
    url = evidence_url(payment["id"], dispute_id, "submit")
    asked = await dashboard.post(
        url, {"shipping_tracking_number": "1Z999", "uncategorized_text": "Signed for.\r\nTwice."}
    )
    assert asked.status_code == 200, asked.text
    shown = text(asked)
    assert "Submit the evidence to the bank" in shown
    assert "This is final: once submitted, the evidence cannot be changed or added to." in shown
    assert "Tracking number 1Z999 Anything else Signed for. Twice." in shown
    assert updates(api) == 0  # asking sends nothing
    fields = parse(asked).hidden
    assert fields == {
        "csrf_token": dashboard.csrf_token,
        "shipping_tracking_number": "1Z999",
        "uncategorized_text": "Signed for.\nTwice.",
        "confirm": "yes",
    }

    done = await dashboard.client.post(url, data=fields)
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("?notice=evidence_submitted")
    assert api.stripe.disputes[dispute_id]["status"] == "under_review"
    assert api.stripe.disputes[dispute_id]["evidence"] == {
        "shipping_tracking_number": "1Z999",
        "uncategorized_text": "Signed for.\nTwice.",
    }
    row = await dispute_row(api, dispute_id)
    assert (row.status, row.evidence_submitted) == ("under_review", True)
    page = await dashboard.client.get(done.headers["location"])
    after = text(page)
    assert "Evidence submitted to the bank: it can no longer change." in after
    assert "Evidence submitted: the bank decides the dispute" in after
    assert "/draft" not in page.text
    assert "Submit to the bank" not in after
    # What Stripe answered is recorded as the operator's doing, and the log names them.
    async with api.db.sessions() as session:
        causes = (
            await session.scalars(
                select(PaymentFact.cause).where(
                    PaymentFact.stripe_object_id == dispute_id,
                    PaymentFact.stripe_status == "under_review",
                )
            )
        ).all()
    assert causes == ["operator"]
    assert (
        f"dashboard evidence submitted for {dispute_id} of {payment['id']} by {OPERATOR_EMAIL}"
        in caplog.text
    )

    again = await dashboard.client.post(url, data=fields)
    assert again.status_code == 409
    assert (
        f"The evidence for dispute {dispute_id} was submitted already: it can no longer change."
        in text(again)
    )
    assert 'role="alert"' in again.text
    assert updates(api) == 1


async def test_the_confirmation_can_save_a_draft_instead(api: Api, dashboard: Dashboard) -> None:
    payment, dispute_id = await disputed(api)
    asked = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "submit"), {"customer_name": "Ada"}
    )
    assert f'formaction="{evidence_url(payment["id"], dispute_id, "draft")}"' in asked.text
    saved = await dashboard.client.post(
        evidence_url(payment["id"], dispute_id, "draft"), data=parse(asked).hidden
    )
    assert saved.headers["location"].endswith("?notice=evidence_saved")
    assert api.stripe.disputes[dispute_id]["status"] == "needs_response"
    assert (await dispute_row(api, dispute_id)).evidence_submitted is False
    nothing = await dashboard.post(evidence_url(payment["id"], dispute_id, "submit"))
    assert "No field is filled in: only what an earlier draft saved at Stripe is submitted" in (
        text(nothing)
    )


async def test_a_field_too_long_is_refused_and_kept_to_shorten(
    api: Api, dashboard: Dashboard
) -> None:
    payment, dispute_id = await disputed(api)
    for step in ("draft", "submit"):
        refused = await dashboard.post(
            evidence_url(payment["id"], dispute_id, step),
            {"customer_name": "Ada", "product_description": "x" * 20_001},
        )
        assert refused.status_code == 400
        assert (
            "Product description is 20,001 characters long; Stripe takes at most 20,000 in a "
            "field. Nothing was sent: shorten it and send it again."
        ) in text(refused)
        assert 'value="Ada"' in refused.text  # what was typed is still there
        assert ">" + "x" * 20_001 + "</textarea>" in refused.text
    assert updates(api) == 0
    at_the_limit = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "draft"), {"product_description": "x" * 20_000}
    )
    assert at_the_limit.status_code == 303


async def test_another_payments_dispute_is_not_found(api: Api, dashboard: Dashboard) -> None:
    payment, _ = await disputed(api)
    _, other_dispute = await disputed(api)
    for step in ("draft", "submit"):
        answer = await dashboard.post(
            evidence_url(payment["id"], other_dispute, step),
            {"customer_name": "Ada", "confirm": "yes"},
        )
        assert answer.status_code == 404
        assert f"Payment {payment['id']} has no dispute {other_dispute}." in text(answer)
    unknown = await dashboard.post(evidence_url("pay_nope", other_dispute, "draft"))
    assert unknown.status_code == 404
    assert "There is no payment pay_nope." in text(unknown)
    assert updates(api) == 0


async def test_without_its_csrf_token_nothing_is_sent(api: Api, dashboard: Dashboard) -> None:
    payment, dispute_id = await disputed(api)
    for step in ("draft", "submit"):
        for token in ({}, {"csrf_token": "not-this-sessions-token"}):
            refused = await dashboard.client.post(
                evidence_url(payment["id"], dispute_id, step),
                data={"customer_name": "Ada", "confirm": "yes", **token},
            )
            assert refused.status_code == 403
            assert "This form was refused" in text(refused)
    assert updates(api) == 0
    assert (await dispute_row(api, dispute_id)).evidence_submitted is False


async def test_a_closed_dispute_has_no_form_and_takes_no_evidence(
    api: Api, dashboard: Dashboard
) -> None:
    payment, dispute_id = await disputed(api, status="lost")
    page = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert "Evidence for dispute" not in text(page)
    refused = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "submit"), {"customer_name": "Ada"}
    )
    assert refused.status_code == 409
    assert f"Dispute {dispute_id} is closed (lost): it takes no more evidence." in text(refused)
    assert updates(api) == 0


async def test_stripe_unreachable_is_explained_and_the_evidence_kept(
    api: Api, dashboard: Dashboard
) -> None:
    payment, dispute_id = await disputed(api)
    api.stripe.reachable = False
    refused = await dashboard.post(
        evidence_url(payment["id"], dispute_id, "submit"),
        {"customer_name": "Ada", "confirm": "yes"},
    )
    assert refused.status_code == 502
    assert "Stripe could not be reached" in text(refused)
    assert 'value="Ada"' in refused.text
    assert (await dispute_row(api, dispute_id)).evidence_submitted is False


async def test_signed_out_an_evidence_form_goes_to_the_login_page(api: Api) -> None:
    payment, dispute_id = await disputed(api)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        posted = await anon.post(
            evidence_url(payment["id"], dispute_id, "submit"),
            data={"customer_name": "Ada", "confirm": "yes"},
        )
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/dashboard/login")
    assert updates(api) == 0
