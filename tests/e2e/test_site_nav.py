"""The explorer links to the other pages, in the language being read."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("lang", "label", "heading_path"), [("en", "Learn", "/learn"), ("zh", "学习", "/learn")]
)
def test_explorer_header_links_to_learn_in_the_same_language(
    page: Page, console_errors: list[str], lang: str, label: str, heading_path: str
) -> None:
    page.goto(f"/?lang={lang}")
    page.locator(".header-nav").get_by_text(label, exact=True).click()
    page.wait_for_url(f"**{heading_path}?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    assert console_errors == []
