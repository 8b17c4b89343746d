"""`paydesk demo`, as a newcomer meets it: the scripted purchase succeeds, a changed cart
keeps its PaymentIntent, an early fraud warning is refunded once, the payouts it prints add
up to their deposits, every walkthrough command works as printed, and Ctrl-C stops it
cleanly."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx

from paydesk.demo import WALKTHROUGH_END


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"{marker!r} never came; the demo printed:\n{''.join(lines)}")


def assert_dashboard_opens(url: str, email: str, password: str) -> None:
    """The printed operator login works, and the overview counts the demo's payments."""
    with httpx.Client(timeout=30) as browser:
        browser.get(f"{url}/login").raise_for_status()
        signed_in = browser.post(
            f"{url}/login",
            data={
                "csrf_token": browser.cookies["paydesk_login_csrf"],
                "email": email,
                "password": password,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        overview = browser.get(url)
        assert overview.status_code == 200, overview.text
        assert email in overview.text


def assert_payouts_add_up(printed: str) -> None:
    """Every payout printed: the net of its transactions is its amount, and the CSV command
    printed answers transactions whose net column sums to the latest payout's amount."""
    section = printed.split("13. Stripe pays the balance out")[1].split("\n14. ")[0]
    payouts = dict(re.findall(r"payout (po_\w+): (\S+) USD, arrival date \S+, Paid", section))
    sums = re.findall(r"net of \d+ transactions?: (\S+) USD = payout (\S+) USD", section)
    assert payouts, section
    assert len(sums) == len(payouts), section
    assert all(net == amount for net, amount in sums), section
    assert "Stripe's fees in all: " in section
    command = re.search(
        r"curl -H 'Accept: text/csv' -H 'Authorization: Bearer (\S+)' \\\n\s+(\S+/(po_\w+))",
        section,
    )
    assert command is not None, section
    key, url, payout_id = command.groups()
    answer = httpx.get(url, headers={"Accept": "text/csv", "Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sum(Decimal(row["net_decimal"]) for row in rows) == Decimal(payouts[payout_id])


def assert_cart_change(printed: str) -> None:
    """The changed cart: one PaymentIntent, whose amount followed the order, paid in full."""
    section = printed.split("10. A cart changes before payment.")[1].split("\n11. ")[0]
    assert "payment pending, not confirmed yet" in section, section
    assert "order version 2, 39.98 USD -> 51.98 USD." in section, section
    before = re.search(r"PaymentIntent before the change: (pi_\w+) for 39\.98 USD", section)
    after = re.search(r"PaymentIntent after the change:  (pi_\w+) for 51\.98 USD", section)
    assert before is not None, section
    assert after is not None, section
    assert before[1] == after[1]
    assert "the same one, updated in place, with the same client secret" in section
    assert "payment succeeded for 51.98 USD, order paid." in section


def assert_fraud_warning_refunded(printed: str) -> None:
    """The warned payment: the warning recorded, then refunded in full by the worker, once."""
    section = printed.split("11. An early fraud warning, refunded automatically.")[1]
    section = section.split("\n12. ")[0]
    assert "PAYDESK_EFW_AUTO_REFUND_MAX=10000 (minor units: 100.00 USD)" in section, section
    assert "4000 0000 0000 5423: payment succeeded." in section, section
    assert "the early fraud warning (made_with_stolen_card);" in section, section
    assert "refunds it in full before it can become a dispute (51.98 USD, reason" in section
    assert "fraudulent): refunded 1 time, the payment is now refunded." in section, section


def test_demo_purchase_walkthrough_and_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "paydesk.cli", "demo", "--port", str(free_port()),
         "--sandbox-port", str(free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        printed = read_until(process, "Press Ctrl-C to stop.")
        assert "402 card_declined (generic_decline)" in printed
        assert "payment succeeded, order paid" in printed
        assert "payment_intent.succeeded" in printed
        assert "processed" in printed
        assert "the payment is now partially_refunded" in printed
        assert "the dispute is lost" in printed
        assert "dispute_withdrawal" in printed
        assert "Balance: 24.98 USD" in printed
        assert (
            "payment processing, order awaiting_funds: SEPA Direct Debit · DE •••• 3000" in printed
        )
        assert "the bank settles it: order paid" in printed
        assert "by iDEAL: payment requires_action" in printed
        assert "comes back: order paid" in printed
        assert_cart_change(printed)
        assert_fraud_warning_refunded(printed)
        assert "Your receipt for order" in printed
        assert "| We received 51.98 USD for order" in printed
        webhooks = re.search(r"got (\d+) webhooks, (\d+) with a valid", printed)
        assert webhooks is not None
        assert webhooks[1] == webhooks[2] != "0"
        assert "payment.fraud_warning" in printed.split("the shop's backend got")[1]
        assert_payouts_add_up(printed)
        assert "/checkout/ord_" in printed
        sign_in = re.search(r"(http://\S+/dashboard)\n\s+as (\S+) with the password (\S+)", printed)
        assert sign_in is not None, printed
        assert_dashboard_opens(*sign_in.groups())
        script = printed.split("== Now you: paste these into another terminal ==")[1]
        script = script.split(WALKTHROUGH_END)[0]
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr + ran.stdout
        out = ran.stdout
        assert '"status":"pending_payment"' in out
        assert '"decline_code":"generic_decline"' in out
        assert '"status":"succeeded"' in out
        assert "\nsucceeded\npaid\n" in out
        assert '"data":[' in out
        assert '"type":"charge.succeeded"' in out
        assert '"amount":1000,"currency":"usd"' in out
        assert '"amount_display":"10.00 USD"' in out
        assert '"kind":"refund","amount":-1000' in out
        assert "entry_id,created_at,payment_id" in out
        assert '"reconciled":true' in out
        assert '"available":[{"currency":"usd"' in out
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert "paydesk demo stopped." in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
