"""Stripe's cursor pagination: newest first, `limit`, `starting_after`, `ending_before`."""

from collections.abc import Callable, Iterator
from itertools import islice

from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.forms import Params
from paydesk.sandbox.objects import list_object
from paydesk.sandbox.params import optional_int, optional_str
from paydesk.sandbox.store import Collection

LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})


def paginate(
    collection: Collection,
    params: Params,
    url: str,
    kind: str,
    matches: Callable[[StripeObject], bool] = lambda _: True,
) -> StripeObject:
    """A page of `collection`, filtered by `matches` and by `created` when it is given."""
    if "created" in params:
        matches = _both(matches, created_filter(params))
    limit = optional_int(params, "limit")
    if limit is None:
        limit = 10
    if not 1 <= limit <= 100:
        raise InvalidRequestError(
            "Invalid limit: must be between 1 and 100",
            code="parameter_invalid_integer",
            param="limit",
        )
    starting_after = optional_str(params, "starting_after")
    ending_before = optional_str(params, "ending_before")
    if starting_after and ending_before:
        raise InvalidRequestError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    if ending_before is not None:
        position = _cursor(collection, ending_before, kind, "ending_before")
        newer = list(islice(_filtered(collection.oldest_first(position), matches), limit + 1))
        has_more = len(newer) > limit
        return list_object(list(reversed(newer[:limit])), has_more, url)
    before = None
    if starting_after is not None:
        before = _cursor(collection, starting_after, kind, "starting_after")
    older = list(islice(_filtered(collection.newest_first(before), matches), limit + 1))
    return list_object(older[:limit], len(older) > limit, url)


def _cursor(collection: Collection, object_id: str, kind: str, param: str) -> int:
    position = collection.position(object_id)
    if position is None:
        raise ResourceMissingError(kind, object_id, param=param)
    return position


def _filtered(
    objects: Iterator[StripeObject], matches: Callable[[StripeObject], bool]
) -> Iterator[StripeObject]:
    return (obj for obj in objects if matches(obj))


def _both(
    first: Callable[[StripeObject], bool], second: Callable[[StripeObject], bool]
) -> Callable[[StripeObject], bool]:
    return lambda obj: first(obj) and second(obj)


def created_filter(params: Params) -> Callable[[StripeObject], bool]:
    """Stripe's `created=<t>` or `created[gt|gte|lt|lte]=<t>` list filter."""
    bounds = _created_bounds(params)
    return lambda obj: all(check(obj["created"]) for check in bounds)


def _created_bounds(params: Params) -> list[Callable[[int], bool]]:
    created = params.get("created")
    if created is None:
        return []
    if isinstance(created, str):
        exact = optional_int(params, "created")
        return [lambda value: value == exact]
    if not isinstance(created, dict):
        raise InvalidRequestError("Invalid created filter", param="created")
    comparisons: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda value, bound: value > bound,
        "gte": lambda value, bound: value >= bound,
        "lt": lambda value, bound: value < bound,
        "lte": lambda value, bound: value <= bound,
    }
    checks: list[Callable[[int], bool]] = []
    for operator in created:
        compare = comparisons.get(operator)
        if compare is None:
            raise InvalidRequestError(
                f"Received unknown parameter: created[{operator}]",
                code="parameter_unknown",
                param=f"created[{operator}]",
            )
        bound = optional_int(created, operator, param=f"created[{operator}]")
        assert bound is not None
        checks.append(_bounded(compare, bound))
    return checks


def _bounded(compare: Callable[[int, int], bool], bound: int) -> Callable[[int], bool]:
    return lambda value: compare(value, bound)
