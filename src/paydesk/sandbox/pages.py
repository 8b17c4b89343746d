"""The sandbox's pages: the 3-D Secure challenge and the bank page of iDEAL and Bancontact
(self-contained HTML, two labelled buttons each), and a SEPA mandate."""

from html import escape

from paydesk.sandbox.currencies import format_amount

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f6f8fa; margin: 0; }
main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: .5rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.25rem; margin-top: 0; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
dt { color: #57606a; }
form { display: inline-block; margin-right: .5rem; }
button { font-size: 1rem; padding: .6rem 1rem; border-radius: .35rem; border: 1px solid #ccc;
         cursor: pointer; }
button.complete { background: #1a7f37; color: #fff; border-color: #1a7f37; }
button.fail { background: #fff; color: #cf222e; border-color: #cf222e; }
"""


def challenge_page(pi_id: str, amount: int, currency: str, last4: str | None) -> str:
    action = f"/_sandbox/3ds/{escape(pi_id)}"
    card = f"•••• {escape(last4)}" if last4 else "card"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>3D Secure authentication (sandbox)</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>3D Secure authentication</h1>
<p>This is the offline Stripe sandbox's stand-in for the bank's challenge.</p>
<dl>
<dt>Payment</dt><dd id="payment-intent">{escape(pi_id)}</dd>
<dt>Amount</dt><dd id="amount">{amount} {escape(currency.upper())}</dd>
<dt>Card</dt><dd>{card}</dd>
</dl>
<form method="post" action="{action}">
<input type="hidden" name="outcome" value="succeed">
<button type="submit" class="complete">Complete authentication</button>
</form>
<form method="post" action="{action}">
<input type="hidden" name="outcome" value="fail">
<button type="submit" class="fail">Fail authentication</button>
</form>
</main>
</body>
</html>
"""


def finished_page(pi_id: str, status: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authentication finished (sandbox)</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Authentication finished</h1>
<p>PaymentIntent <code>{escape(pi_id)}</code> is now <strong id="status">{escape(status)}</strong>.
You can close this window.</p>
</main></body>
</html>
"""


def bank_page(pi_id: str, amount: int, currency: str, bank: str) -> str:
    """Stripe's test page for a bank redirect: authorize the payment, or fail it."""
    action = f"/_sandbox/redirect/{escape(pi_id)}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(bank)} test payment (sandbox)</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1 id="bank">{escape(bank)}</h1>
<p>This is the offline Stripe sandbox's stand-in for the bank's payment page.</p>
<dl>
<dt>Payment</dt><dd id="payment-intent">{escape(pi_id)}</dd>
<dt>Amount</dt><dd id="amount">{escape(format_amount(amount, currency))}</dd>
</dl>
<form method="post" action="{action}">
<input type="hidden" name="outcome" value="succeed">
<button type="submit" class="complete">Authorize test payment</button>
</form>
<form method="post" action="{action}">
<input type="hidden" name="outcome" value="fail">
<button type="submit" class="fail">Fail test payment</button>
</form>
</main>
</body>
</html>
"""


def mandate_page(mandate_id: str, reference: str, last4: str | None, status: str) -> str:
    """What a SEPA mandate's `url` shows the customer."""
    account = f"•••• {escape(last4)}" if last4 else "bank account"
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>SEPA Direct Debit mandate (sandbox)</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>SEPA Direct Debit mandate</h1>
<dl>
<dt>Mandate</dt><dd>{escape(mandate_id)}</dd>
<dt>Reference</dt><dd id="reference">{escape(reference)}</dd>
<dt>Account</dt><dd>{account}</dd>
<dt>Status</dt><dd id="status">{escape(status)}</dd>
</dl>
</main></body>
</html>
"""
