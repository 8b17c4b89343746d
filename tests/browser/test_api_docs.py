"""The API reference at /docs in a real browser that can reach nothing but paydesk."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.browser.conftest import Screenshot
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page, Route


async def test_the_api_reference_renders_without_a_network(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    refused: list[str] = []

    async def only_paydesk(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    # What the browser reports: a script that failed, or a load refused by the page's policy.
    problems: list[str] = []

    def note_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", note_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.route("**/*", only_paydesk)

    await page.goto(f"{paydesk.url}/docs")
    assert refused == []  # a page that loads Swagger UI from a CDN fails here, naming it
    create_order = page.locator("#operations-orders-create_order_api_orders_post")
    await create_order.locator(".opblock-summary-method", has_text="POST").wait_for()
    assert await create_order.locator(".opblock-summary-path").inner_text() == "/api/orders"
    await screenshot("api-docs")
    await create_order.locator(".opblock-summary-control").click()
    await create_order.get_by_role("button", name="Try it out").wait_for()

    assert refused == []
    assert problems == []
