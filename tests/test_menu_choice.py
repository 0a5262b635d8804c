"""Which menu or list item a click chose (``capture.atspi.targets.chosen_item``), from the items the
accessibility bus said were selected around it: the orders GTK produces, without a desktop.

GTK menus close before a query after the click could see them, so the recorder names a menu
choice from *selected* state events: the item under the click point among those selected
around the click, else (an item described only after its menu closed, with no geometry
left) the newest item selected just before it. test_record_x11.py covers the live path.
"""

from __future__ import annotations

from workprint.capture.atspi.targets import LATE_STATE_S, Selection, chosen_item

GONE = [-2_147_483_648, -2_147_483_648, 0, 0]  # the extents GTK reports for an item of a closed menu


def item(name: str, bbox: list[int], role: str = "menu item") -> dict:
    return {"role": role, "name": name, "bbox": bbox}


EDIT = item("Edit", [40, 20, 40, 20], role="menu")
UNDO = item("Undo", [40, 45, 160, 24])
SELECT_ALL = item("Select All", [40, 69, 160, 24])


def test_the_item_under_the_click_is_chosen_not_the_newest_selected():
    # The pointer crossed Undo and Select All; the menu title is selected all along.
    selections = [Selection(1.0, EDIT, ("app", "/edit")), Selection(1.5, UNDO, ("app", "/undo"), off=2.0),
                  Selection(2.0, SELECT_ALL, ("app", "/all"))]
    assert chosen_item(selections, 2.5, 100, 80) == SELECT_ALL
    assert chosen_item(selections, 2.5, 50, 30) == EDIT, "a click on the menu title names the menu"


def test_an_item_deselected_before_the_click_is_not_chosen():
    selections = [Selection(1.0, UNDO, ("app", "/undo"), off=1.5)]
    assert chosen_item(selections, 3.0, 100, 50) is None


def test_a_selected_event_trailing_the_click_still_names_it():
    selections = [Selection(2.0 + LATE_STATE_S / 2, SELECT_ALL, ("app", "/all"))]
    assert chosen_item(selections, 2.0, 100, 80) == SELECT_ALL
    assert chosen_item(selections, 2.0 - LATE_STATE_S, 100, 80) is None, "too late to belong to that click"


def test_an_item_described_after_its_menu_closed_is_the_newest_selected_just_before():
    closed = item("Select All", GONE)
    selections = [Selection(1.0, item("Undo", GONE), ("app", "/undo"), off=1.2),
                  Selection(1.4, closed, ("app", "/all"))]
    assert chosen_item(selections, 1.5, 100, 80) == closed
    assert chosen_item(selections, 1.4 + 3.5, 100, 80) is None, "not an item selected long before"


def test_a_menu_without_geometry_is_not_taken_for_an_item():
    selections = [Selection(1.0, item("Edit", GONE, role="menu"), ("app", "/edit"))]
    assert chosen_item(selections, 1.2, 100, 80) is None
