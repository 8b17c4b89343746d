"""schemathesis against paydesk over HTTP: every operation, requests that fit the OpenAPI
document and requests that break it, with the shop's key, with a checkout token and with
no credentials. Any 5xx, any answer that contradicts the document (status, headers,
content type, body) or a schema-valid request refused for its shape fails the test.

Every combination runs on SQLite; on PostgreSQL only what the database can change the
answer to (`RUNS` below says why). Examples per operation and mode: `FUZZ_EXAMPLES` below
(the same ones every run, so CI is repeatable); `PAYDESK_FUZZ_EXAMPLES=500` runs that many,
freshly drawn each time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from paydesk.app import create_app
from paydesk.auth.repository import ApiKeyRepository
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.gateway.fake import FakeGateway
from tests.fixtures.paydesk import ServerThread

# Per operation and generation mode, by credentials: the shop's key reaches every
# operation's logic, the others mostly meet the checks in front of it.
FUZZ_EXAMPLES = {"shop key": 25, "checkout token": 10, "no credentials": 5}
EXPLORING = "PAYDESK_FUZZ_EXAMPLES" in os.environ
BOTH_MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# (database, credentials, generation modes). SQLite meets every combination. PostgreSQL
# meets only the requests that reach the database: requests that break the document are
# refused by validation in front of it, the same code on either database (and control
# characters, the one input PostgreSQL refuses where SQLite does not, are refused at the
# edge: tests/integration/test_edge.py checks that on both); and without credentials every
# operation stops at authentication, before any query.
RUNS = [
    pytest.param("sqlite", "shop key", BOTH_MODES, id="sqlite-shop key"),
    pytest.param("sqlite", "checkout token", BOTH_MODES, id="sqlite-checkout token"),
    pytest.param("sqlite", "no credentials", BOTH_MODES, id="sqlite-no credentials"),
    pytest.param(
        "postgresql", "shop key", (GenerationMode.POSITIVE,), id="postgresql-shop key-positive"
    ),
    pytest.param(
        "postgresql",
        "checkout token",
        (GenerationMode.POSITIVE,),
        id="postgresql-checkout token-positive",
    ),
]

# Codes that say a request's shape is wrong: a request the document allows must never get
# one. Any other 400 is a rule of the business (a total under Stripe's minimum, a webhook
# URL that is not public, a payment method Stripe does not know), which no schema states.
SHAPE_CODES = frozenset(
    {
        "parameter_invalid",
        "parameter_missing",
        "parameter_unknown",
        "invalid_json",
        "body_missing",
        "invalid_characters",
        "server_side_field",
    }
)


@dataclass
class Target:
    url: str
    credentials: dict[str, str | None]


@pytest.fixture
def target(database_url: str) -> Iterator[Target]:
    async def shop_key() -> str:
        db = Database.connect(database_url)
        async with db.transaction() as session:
            key, _ = await ApiKeyRepository(session).create("fuzz")
        await db.dispose()
        return key

    key = asyncio.run(shop_key())
    settings_ = Settings(database_url=database_url, stripe_webhook_secrets=("whsec_fuzz",))
    with ServerThread(create_app(settings_, gateway=FakeGateway())) as server:
        order = httpx.post(
            f"{server.url}/api/orders",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}],
                "currency": "usd",
                "customer_email": "ada@example.com",
            },
        ).json()
        yield Target(
            server.url,
            {
                "shop key": key,
                "checkout token": order["checkout_token"],
                "no credentials": None,
            },
        )


def refused_for_its_shape(ctx: Any, response: Any, case: Case) -> None:
    """A request the document allows is never refused for its shape."""
    del ctx
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and response.status_code == 400:
        code = response.json()["error"]["code"]
        assert code not in SHAPE_CODES, f"schema-valid request refused: {response.text}"


def whole_numbers(value: Any) -> Any:
    """JSON Schema counts `1124.0` as an integer; paydesk refuses it (the document says so,
    and tests/integration/test_orders.py checks it), so integers are sent as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


@pytest.mark.parametrize(("database_url", "who", "modes"), RUNS, indirect=["database_url"])
def test_every_operation_answers_as_its_document_says(
    target: Target, who: str, modes: tuple[GenerationMode, ...]
) -> None:
    spec = httpx.get(f"{target.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    credential = target.credentials[who]
    if credential is not None:

        @schema.auth()
        class Bearer:
            def get(self, case: Case, ctx: Any) -> str:
                return credential

            def set(self, case: Case, data: str, ctx: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    examples = int(os.environ.get("PAYDESK_FUZZ_EXAMPLES", FUZZ_EXAMPLES[who]))
    failures: list[str] = []
    requests = 0
    for mode in modes:
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=not EXPLORING,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Case) -> None:
                nonlocal requests
                requests += 1
                case.body = whole_numbers(case.body)
                response = case.call(base_url=target.url, timeout=30)
                case.validate_response(
                    response,
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[refused_for_its_shape],
                )

            try:
                run()
            except (Exception, FailureGroup) as failure:  # each one is reported below
                failures.append(f"{mode} {operation.method.upper()} {operation.path}: {failure}")
    assert requests > 0
    assert not failures, "\n\n".join(failures)
