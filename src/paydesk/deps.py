"""What endpoints receive: the app's services (built once by the app factory) and the caller.

The caller is a type in the endpoint's signature: `ShopKey` (the shop's secret key) or
`ShopOrCheckout` (the shop's key, or the checkout token of one order). `Authentication`
(auth/middleware.py) has already answered 401 to anyone else; `AuthorizedRoute` checks the
kind of caller before the body is read, so a checkout token on a shop-only endpoint is a
403 whatever it sent, and an endpoint without either type cannot be routed under /api/."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from paydesk.auth.middleware import PRINCIPAL
from paydesk.auth.service import require_shop
from paydesk.composition import Services
from paydesk.errors import AuthenticationFailed, InvalidRequest
from paydesk.principals import Principal, Shop


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

# An id in a query string (a filter or a page cursor): paydesk's ids and Stripe's are shorter.
IdQuery = Annotated[str | None, Query(min_length=1, max_length=255)]


def shop_or_checkout(request: Request) -> Principal:
    """The caller `Authentication` found: a shop key or an order's checkout token."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None:
        raise AuthenticationFailed(
            "Send `Authorization: Bearer <shop API key or the order's checkout token>`.",
            code="missing_credentials",
        )
    return principal


def shop_key(principal: Annotated[Principal, Depends(shop_or_checkout)]) -> Shop:
    """The caller, who must hold the shop's secret key (403 for a checkout token)."""
    return require_shop(principal)


ShopOrCheckout = Annotated[Principal, Depends(shop_or_checkout)]
ShopKey = Annotated[Shop, Depends(shop_key)]


class Caller(StrEnum):
    """Who an endpoint lets in, as its signature says."""

    SHOP = "shop key"
    SHOP_OR_CHECKOUT = "shop key or checkout token"


def _dependants(dependant: Dependant) -> list[Dependant]:
    """The endpoint's dependant and every one it depends on."""
    found, pending = [], [dependant]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.dependencies)
    return found


def _query_names(dependant: Dependant) -> set[str]:
    return {param.alias for current in _dependants(dependant) for param in current.query_params}


def required_caller(dependant: Dependant) -> Caller | None:
    """The caller an endpoint's dependencies ask for; None when it asks for none."""
    calls = {current.call for current in _dependants(dependant)}
    if shop_key in calls:
        return Caller.SHOP
    if shop_or_checkout in calls:
        return Caller.SHOP_OR_CHECKOUT
    return None


class AuthorizedRoute(APIRoute):
    """An API route that checks its caller before its body is read or validated, and
    refuses a query parameter it does not take (as Stripe does: a misspelt filter would
    otherwise be ignored, and the answer look right)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        caller = required_caller(self.dependant)
        if caller is None:
            raise TypeError(
                f"{self.path} names no caller: give its endpoint a ShopKey or ShopOrCheckout."
            )
        known = _query_names(self.dependant)

        async def authorized(request: Request) -> Response:
            principal = shop_or_checkout(request)
            if caller is Caller.SHOP:
                require_shop(principal)
            unknown = next((name for name in request.query_params if name not in known), None)
            if unknown is not None:
                raise InvalidRequest(
                    f"Received unknown parameter: {unknown}.",
                    code="parameter_unknown",
                    param=unknown,
                )
            return await handler(request)

        return authorized
