"""The HTTP edge: what every request passes before paydesk's routes see it, outermost first.

1. `envelope.HttpEdge` names the request, refuses control characters in its path and query,
   and turns any failure below it into an answer: 503 with `Retry-After` when the database
   cannot be used, 500 naming the request otherwise; JSON for the API, a page for people.
2. The Stripe webhook endpoint (webhooks/receiver.py), with its own signature and limits.
3. `auth.middleware.Authentication`: the caller of `/api/`, known before any body is read.
4. `limits.BodyLimit`: a body of at most `MAX_BODY_BYTES`, arriving in time.
5. The `Idempotency-Key` middleware (idempotency/middleware.py).

`server.uvicorn_config` adds what only the server can do: a time limit on request headers.
"""
