"""Signing in to the dashboard in a real browser, with the keyboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import Screenshot, sign_in
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def test_sign_in_with_the_keyboard_then_sign_out(
    paydesk: Paydesk, page: Page, operator: tuple[str, str], screenshot: Screenshot
) -> None:
    email, password = operator
    await page.goto(f"{paydesk.url}/dashboard/payments")
    assert page.url.startswith(f"{paydesk.url}/dashboard/login?next=")
    await screenshot("dashboard-login")

    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_label("Password").press("Enter")
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert await alert.inner_text() == "Wrong e-mail or password."
    assert await page.get_by_label("E-mail").input_value() == email
    await screenshot("dashboard-login-refused")

    # Tab order: e-mail, password, the button; Enter on the button signs in.
    await page.get_by_label("E-mail").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{paydesk.url}/dashboard/payments")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["paydesk_session"]["httpOnly"] is True
    assert cookies["paydesk_session"]["sameSite"] == "Lax"

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{paydesk.url}/dashboard/login?signed_out=1")
    assert await page.get_by_role("status").inner_text() == "You are signed out."
    await page.goto(f"{paydesk.url}/dashboard")
    assert page.url.startswith(f"{paydesk.url}/dashboard/login")


async def test_sign_in_lands_on_the_overview(
    paydesk: Paydesk, page: Page, operator: tuple[str, str]
) -> None:
    await sign_in(page, paydesk, *operator)
    assert await page.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"
