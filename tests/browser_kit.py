"""What the browser tests share: submitting a form and reading the page that answers it."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def submit(page: Page, control: Locator) -> None:
    """Click a control that sends a form or follows a link, and wait for the answer's page.

    A click returns once the navigation starts; reading the page before the answer has loaded
    would read the page the form was on.
    """
    with page.expect_navigation():
        control.click()
