"""Disputes as the shop sees them: from Stripe's events, listed, answered with evidence."""

from __future__ import annotations

import time
from typing import Any

from tests import stripe_events as se
from tests.integration.conftest import Api


async def disputed(api: Api, status: str = "needs_response") -> tuple[dict[str, Any], str]:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    dispute = se.dispute(pi, f"dp_{pi[3:]}", amount, status)
    dispute["evidence_details"] = {"due_by": int(time.time()) + 7 * 86400, "submission_count": 0}
    api.stripe.disputes[dispute["id"]] = dispute
    now = int(time.time())
    for event in [
        se.event("charge.succeeded", se.charge(pi, amount), created=now),
        se.event("charge.dispute.created", dispute, created=now + 1),
    ]:
        assert (await api.post_event(event)).status_code == 200
    await api.processor.drain()
    return payment, dispute["id"]


async def test_a_dispute_is_listed_with_its_reason_and_due_date(api: Api) -> None:
    payment, dispute_id = await disputed(api)
    listed = (await api.client.get("/api/disputes", params={"status": "needs_response"})).json()
    assert [d["id"] for d in listed["data"]] == [dispute_id]
    one = (await api.client.get(f"/api/disputes/{dispute_id}")).json()
    assert (one["payment_id"], one["reason"], one["status"]) == (
        payment["id"],
        "fraudulent",
        "needs_response",
    )
    assert one["evidence_due_by"] is not None
    assert (await api.client.get("/api/disputes", params={"status": "won"})).json()["data"] == []
    assert (await api.client.get("/api/disputes/dp_nope")).status_code == 404


async def test_evidence_goes_to_stripe_and_submitting_closes_it_for_edits(api: Api) -> None:
    payment, dispute_id = await disputed(api)
    draft = await api.client.post(
        f"/api/disputes/{dispute_id}/evidence", json={"customer_name": "Ada Lovelace"}
    )
    assert draft.status_code == 200, draft.text
    assert api.stripe.disputes[dispute_id]["evidence"] == {"customer_name": "Ada Lovelace"}
    sent = await api.client.post(
        f"/api/disputes/{dispute_id}/evidence",
        json={"shipping_tracking_number": "1Z999", "submit": True},
    )
    assert (sent.json()["status"], sent.json()["evidence_submitted"]) == ("under_review", True)
    again = await api.client.post(
        f"/api/disputes/{dispute_id}/evidence", json={"customer_name": "Someone else"}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "dispute_not_open")
    assert (await api.client.get(f"/api/payments/{payment['id']}")).json()["status"] == "disputed"
    unknown = await api.client.post(f"/api/disputes/{dispute_id}/evidence", json={"nope": "x"})
    assert unknown.status_code == 400


async def test_a_closed_dispute_takes_no_evidence(api: Api) -> None:
    _, dispute_id = await disputed(api, status="lost")
    answer = await api.client.post(f"/api/disputes/{dispute_id}/evidence", json={"submit": True})
    assert answer.status_code == 409
