from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, JsonValue, StrictInt, StringConstraints

from paydesk.money import MAXIMUM_CHARGE, SUPPORTED_CURRENCIES, format_amount
from paydesk.orders.models import CaptureMethod, Order
from paydesk.validation import EmailAddress, RequestModel

# The schema lists the codes paydesk takes (lowercase; the check takes either case).
_CURRENCY_CODES: list[JsonValue] = [code for code in sorted(SUPPORTED_CURRENCIES)]

MAX_QUANTITY = 1000
MAX_ITEMS = 100


class OrderItemIn(RequestModel):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    unit_amount: Annotated[StrictInt, Field(gt=0, le=MAXIMUM_CHARGE)] = Field(
        description="Price of one unit in the currency's minor units (cents; yen; fils)."
    )
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class OrderCreate(RequestModel):
    """A new order. The total is computed by paydesk from the items; none is accepted."""

    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    currency: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True)] = Field(
        json_schema_extra={"enum": _CURRENCY_CODES},
        description="ISO 4217, in either case: `usd`, `EUR`.",
    )
    customer_email: EmailAddress
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the order expires if still unpaid (ISO 8601 with its offset); "
        "unset, `PAYDESK_ORDER_TTL` after now (24 hours unless configured).",
    )


class OrderUpdate(RequestModel):
    """The order's new items, replacing the old ones while it is unpaid; the total follows
    and so does the amount of its PaymentIntent, which keeps its id and client secret."""

    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


class OrderItemOut(BaseModel):
    sku: str
    name: str
    unit_amount: int
    quantity: int
    amount: int


class OrderOut(BaseModel):
    id: str
    status: str
    currency: str
    amount: int
    amount_display: str
    customer_email: str
    capture_method: str
    items: list[OrderItemOut]
    version: int = Field(description="1 at creation, one more with each change of the items.")
    expires_at: datetime | None
    paid_after_expiry: bool = Field(
        description="Paid although it had expired: a confirmation raced its expiry."
    )
    created_at: datetime

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            status=order.status,
            currency=order.currency,
            amount=order.amount,
            amount_display=format_amount(order.amount, order.currency),
            customer_email=order.customer_email,
            capture_method=order.capture_method,
            items=[
                OrderItemOut(
                    sku=i.sku,
                    name=i.name,
                    unit_amount=i.unit_amount,
                    quantity=i.quantity,
                    amount=i.unit_amount * i.quantity,
                )
                for i in order.items
            ],
            version=order.version,
            expires_at=order.expires_at,
            paid_after_expiry=order.paid_after_expiry,
            created_at=order.created_at,
        )


class OrderCreated(OrderOut):
    checkout_token: str = Field(
        description="Give this to the customer's browser: it can see and pay this order only. "
        "Shown once."
    )
