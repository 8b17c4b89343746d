"""The 3-D Secure challenge page: self-contained HTML, two labelled buttons."""

from html import escape

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
