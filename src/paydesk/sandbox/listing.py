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
