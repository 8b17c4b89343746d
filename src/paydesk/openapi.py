"""The OpenAPI document, complete enough for a generated client: every answer an operation
can give, errors with their schema, and the two kinds of credentials as security schemes.

Most of it follows from each route's signature (the caller its endpoint asks for, path
parameters, a body); what only the endpoint knows (a card can be declined, Stripe can be
unreachable) it declares with `errors(...)` in its decorator."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from paydesk.deps import Caller, required_caller
from paydesk.edge.limits import MAX_BODY_BYTES
from paydesk.idempotency.middleware import MAX_KEY_LENGTH

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Bad input: a field (named by `param`) is missing or invalid, or Stripe refused a "
    "value the caller chose. Sending the same request again gets the same answer.",
    401: "No valid credentials: send `Authorization: Bearer <key or token>`.",
    402: "The card was declined; `decline_code` is Stripe's. The order can be paid with "
    "another card.",
    403: "A checkout token was sent where the shop's secret key is needed.",
    404: "No such object, or one that belongs to another order.",
    408: "The request's body did not arrive in time.",
    409: "The object's state forbids this now, or the Idempotency-Key was used with another "
    "request or is still being processed.",
    413: f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.",
    500: "paydesk failed to answer; `request_id` names the request for its operator.",
    502: "Stripe could not be reached or failed; retrying is safe (nothing is charged twice).",
    503: "The database is unavailable; retry after `Retry-After` seconds.",
}

SECURITY_SCHEMES = {
    "ShopKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The shop's secret API key (`pd_sk_…`, from `paydesk keys create`).",
    },
    "CheckoutToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An order's checkout token (`pd_ct_…`): that order and its payment only.",
    },
}

_INTEGER_NOTE = "A JSON integer, written without a fraction: `1124`, never `1124.0`."

# What validation.py refuses, as patterns: ids and query values are one line of printable
# text; text in a body may also hold tabs and line breaks; a required text is not blank.
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
_CONTROL_BUT_BREAKS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
ONE_LINE = f"^[^{_CONTROL}]*$"
TEXT = f"^[^{_CONTROL_BUT_BREAKS}]*$"
NOT_BLANK_TEXT = f"^[^{_CONTROL_BUT_BREAKS}]*[^\\s{_CONTROL_BUT_BREAKS}][^{_CONTROL_BUT_BREAKS}]*$"


class ErrorDetail(BaseModel):
    type: str = Field(description="`invalid_request_error`, `card_error`, `api_error`, …")
    code: str = Field(description="What went wrong, for programs: `parameter_missing`, …")
    message: str = Field(description="What went wrong, for people.")
    param: str | None = Field(default=None, description="The field at fault, if one is.")
    decline_code: str | None = Field(default=None, description="Stripe's, for a declined card.")
    request_id: str | None = Field(default=None, description="The request, for a 500.")
    stripe_request_id: str | None = Field(default=None, description="Stripe's, when it failed.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The answers only the endpoint knows it can give, for its decorator's `responses`."""
    return {status: {"description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Makes `app.openapi()` (and /openapi.json) the complete document, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            complete(schema, api_routes(app))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """Every API route of `app` by (method, path), wherever its router was included."""
    found: dict[tuple[str, str], APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (context.path_format or "").startswith("/api/"):
            for method in context.methods or ():
                found[(method, context.path_format or route.path_format)] = route
    return found


def complete(schema: dict[str, Any], routes: dict[tuple[str, str], APIRoute]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    bodies: set[str] = set()
    for (method, path), route in routes.items():
        caller = required_caller(route.dependant)
        operation = schema["paths"].get(path, {}).get(method.lower())
        if caller is not None and operation is not None:
            _complete_operation(operation, route, method, caller)
            for parameter in operation.get("parameters", []):
                _constrain_text(parameter["schema"], ONE_LINE)
            bodies |= _refs(operation.get("requestBody", {}), schemas)
    for name in bodies:
        for field in (schemas[name].get("properties") or {}).values():
            _constrain_text(field, TEXT)
    for model in schemas.values():
        _note_integers(model)


def _complete_operation(
    operation: dict[str, Any], route: APIRoute, method: str, caller: Caller
) -> None:
    operation["security"] = (
        [{"ShopKey": []}] if caller is Caller.SHOP else [{"ShopKey": []}, {"CheckoutToken": []}]
    )
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    statuses = {400, 401, 500, 503}
    if caller is Caller.SHOP:
        statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if method in ("POST", "PATCH", "PUT"):
        statuses |= {408, 409, 413}
    for code in statuses:
        responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            }
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`."}
    }
    responses["503"]["headers"] = {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
    }
    if method == "POST":
        header: dict[str, Any] = {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "The same key with the same request replays the first answer "
            "(with `Idempotent-Replayed: true`) for 24 hours; with another request, 409.",
            "schema": {
                "type": "string",
                "maxLength": MAX_KEY_LENGTH,
                "pattern": "^[!-~]([ -~]*[!-~])?$",
            },
        }
        operation.setdefault("parameters", []).append(header)


def _refs(node: Any, schemas: dict[str, Any], found: set[str] | None = None) -> set[str]:
    """The components `node` refers to, directly or through other components."""
    found = set() if found is None else found
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _refs(schemas.get(name), schemas, found)
        for value in node.values():
            _refs(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, schemas, found)
    return found


def _constrain_text(field: dict[str, Any], pattern: str) -> None:
    """Adds `pattern` to a free string (no enum, format or pattern of its own), at any depth
    of `anyOf` and array items; a required one (minLength) must also not be blank."""
    for variant in [field, *field.get("anyOf", [])]:
        if variant.get("type") == "array":
            _constrain_text(variant.get("items", {}), pattern)
        if variant.get("type") != "string" or {"enum", "format", "pattern"} & variant.keys():
            continue
        variant["pattern"] = (
            NOT_BLANK_TEXT if pattern == TEXT and variant.get("minLength", 0) > 0 else pattern
        )


def _note_integers(model: dict[str, Any]) -> None:
    """Integers are strict (`1124.0` is refused); say so where JSON Schema cannot."""
    for field in (model.get("properties") or {}).values():
        for variant in [field, *field.get("anyOf", [])]:
            if variant.get("type") == "integer":
                described = field.get("description")
                field["description"] = (
                    f"{described} {_INTEGER_NOTE}" if described else _INTEGER_NOTE
                )
                break
