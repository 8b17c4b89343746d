"""paydesk: the payment desk of an online shop, on Stripe."""
