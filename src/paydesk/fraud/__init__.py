"""Fraud signals: what Stripe's Radar says of each charge (kept on the payment), and the
card issuers' early fraud warnings, each recorded once, told to the shop, shown to the
operator and, under a set amount, refunded in full before it becomes a dispute."""
