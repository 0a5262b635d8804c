"""Page events joined with desktop actions (``process.browser.merge_browser_events``), case by case.

The recorded end-to-end path is in test_browser.py; here each joining rule gets the event
orders a browser produces, including the ones a live run cannot schedule on demand.
"""

from __future__ import annotations

from typing import Any

from workprint.process.browser import JOIN_S, merge_browser_events

SCREEN = {"w": 1920, "h": 1080, "scale": 1.0}


def desktop(kind: str, t: float, app: str = "chromium", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "t": t, "t_end": t, "app": app, "source": "human", **fields}


class Page:
    """Page events as the recorder writes them, numbered in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, t: float, **fields: Any) -> dict[str, Any]:
        event = {"id": 100 + len(self.events), "kind": f"dom_{kind}", "t": t, **fields}
        self.events.append(event)
        return event


def of(actions: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a for a in actions if a["type"] == kind]


def test_without_page_events_the_actions_are_unchanged():
    actions = [desktop("click", 1.0, x=5, y=5)]
    assert merge_browser_events(actions, [{"kind": "press", "t": 1.0, "id": 1}], SCREEN) is actions


def test_a_desktop_click_takes_the_target_and_address_of_the_page_click_it_made():
    page = Page()
    page.add("navigate", 0.5, url="https://shop.example/")
    page.add("click", 1.1, url="https://shop.example/cart", x=40, y=60,
             target={"role": "button", "name": "Checkout", "bbox": [30, 50, 80, 20], "selector": "#go"})
    click = desktop("click", 1.0, x=400, y=300)
    merged = merge_browser_events([click], page.events, SCREEN)
    clicks = of(merged, "click")
    assert len(clicks) == 1, "one click, not the desktop's and the page's"
    assert clicks[0]["x"] == 400 and clicks[0]["target"]["name"] == "Checkout"
    assert clicks[0]["url"] == "https://shop.example/cart"


def test_a_page_click_far_from_any_desktop_click_is_an_action_of_its_own():
    page = Page()
    page.add("click", 5.0, url="https://a.example/", x=40, y=60)
    click = desktop("click", 5.0 - JOIN_S - 0.1, x=400, y=300)
    merged = merge_browser_events([click], page.events, SCREEN)
    clicks = sorted(of(merged, "click"), key=lambda a: a["t"])
    assert [(a["x"], a["app"]) for a in clicks] == [(400, "chromium"), (40, "browser")]
    assert clicks[1]["raw"] == [100, 100] and clicks[1]["screen"] == SCREEN


def test_a_desktop_click_joins_only_one_page_click():
    page = Page()
    page.add("click", 1.0, url="https://a.example/", x=1, y=1, target={"role": "link", "name": "first"})
    page.add("click", 1.1, url="https://a.example/", x=2, y=2, target={"role": "link", "name": "second"})
    merged = merge_browser_events([desktop("click", 1.05, x=9, y=9)], page.events, SCREEN)
    clicks = of(merged, "click")
    assert len(clicks) == 2, "the page click the desktop click did not take is its own action"
    joined, own = sorted(clicks, key=lambda a: a["app"] == "browser")
    assert joined["x"] == 9 and own["app"] == "browser"
    assert {joined["target"]["name"], own["target"]["name"]} == {"first", "second"}


def test_keystrokes_into_a_field_the_page_reported_become_the_pages_one_type():
    page = Page()
    page.add("input", 2.0, t_end=3.0, url="https://a.example/", text="[EMAIL]", redacted=["email"],
             target={"role": "textbox", "name": "E-mail"})
    typed_in_browser = desktop("type", 2.1, text="[EMAIL]")
    typed_in_editor = desktop("type", 2.2, app="mousepad", text="notes")
    merged = merge_browser_events([typed_in_browser, typed_in_editor], page.events, SCREEN)
    types = of(merged, "type")
    assert [(a["app"], a["text"]) for a in types] == [("mousepad", "notes"), ("browser", "[EMAIL]")]
    assert types[1]["redacted"] == ["email"] and types[1]["target"]["name"] == "E-mail"


def test_browser_actions_carry_the_address_of_the_page_they_were_on():
    page = Page()
    page.add("navigate", 1.0, url="https://a.example/")
    page.add("navigate", 5.0, url="https://b.example/")
    actions = [desktop("key", 3.0, keys=["enter"]), desktop("key", 6.0, keys=["enter"]),
               desktop("key", 6.0, app="mousepad", keys=["enter"])]
    merged = merge_browser_events(actions, page.events, SCREEN)
    assert [a.get("url") for a in of(merged, "key")] == ["https://a.example/", "https://b.example/", None]


def test_the_same_navigation_reported_twice_within_a_second_is_one():
    page = Page()
    page.add("navigate", 1.0, url="https://a.example/")
    page.add("navigate", 1.4, url="https://a.example/")  # load, then the tab's report
    page.add("navigate", 3.0, url="https://a.example/")  # a reload later is a navigation
    merged = merge_browser_events([], page.events, SCREEN)
    assert [a["t"] for a in of(merged, "navigate")] == [1.0, 3.0]


def test_a_widgets_choice_and_its_hidden_select_are_one_select():
    page = Page()
    page.add("choose", 2.0, url="https://a.example/", label="Berlin", value="ber", target={"role": "option"})
    page.add("select", 2.3, url="https://a.example/", label="Berlin", value="ber")
    page.add("select", 4.0, url="https://a.example/", label="Paris", value="par")
    merged = merge_browser_events([], page.events, SCREEN)
    assert [(a["label"], a["value"]) for a in of(merged, "select")] == [("Berlin", "ber"), ("Paris", "par")]


def test_a_page_scroll_the_desktop_saw_is_not_repeated_and_one_it_did_not_see_is_kept():
    page = Page()
    page.add("scroll", 1.2, url="https://a.example/", dy_px=300)
    page.add("scroll", 9.0, url="https://a.example/", dy_px=-250, target={"bbox": [100, 200, 400, 300]})
    merged = merge_browser_events([desktop("scroll", 1.0, x=5, y=5, dx=0, dy=-3)], page.events, SCREEN)
    scrolls = of(merged, "scroll")
    assert [(a["app"], a["dy"]) for a in scrolls] == [("chromium", -3), ("browser", 2)]
    assert (scrolls[1]["x"], scrolls[1]["y"]) == (300, 350), "at the middle of the scrolled element"
