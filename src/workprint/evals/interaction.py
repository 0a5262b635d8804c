"""Which kind of interaction a recorded action is, for per-type scores.

Public benchmarks fold dropdown choices and menu navigation into "click". Here they are
types of their own, decided from the accessible role of what was clicked (desktop, AT-SPI)
or of the element the page reported (browser, DOM/ARIA roles), because a model that clicks
text views well can still be lost in menus.
"""

from __future__ import annotations

from workprint.vocabulary import CLICK_TYPES, Action

INTERACTIONS = ("click", "double_click", "right_click", "middle_click", "drag", "scroll", "type", "hotkey", "key",
                "select", "menu", "navigate", "done")
POINT_TYPES = CLICK_TYPES

# Menus: the menu bar's titles, their items (GTK/Qt AT-SPI role names and ARIA roles).
MENU_ROLES = {"menu", "menu item", "check menu item", "radio menu item", "menu bar", "popup menu",
              "menuitem", "menuitemcheckbox", "menuitemradio", "menubar"}
# Dropdowns and lists: an option chosen among others.
SELECT_ROLES = {"combo box", "list item", "option", "combobox", "listbox", "list box", "tree item", "treeitem",
                "table cell"}


def _role(action: Action) -> str:
    return str((action.get("target") or {}).get("role") or "").strip().lower()


def interaction_of(action: Action) -> str | None:
    """The interaction type of an action, or None for actions that are not eval steps (wait, call_user)."""
    kind = action.get("type")
    role = _role(action)
    if kind == "select":
        return "menu" if role in MENU_ROLES else "select"
    if kind == "click" and role in MENU_ROLES:
        return "menu"
    if kind == "click" and role in SELECT_ROLES:
        return "select"
    if kind in ("done", "fail"):
        return "done"
    if kind in INTERACTIONS:
        return str(kind)
    return None


def choice_label(action: Action) -> str | None:
    """The label a select or menu step chose: the action's own label, else its target's name."""
    label = action.get("label")
    if label is None:
        label = (action.get("target") or {}).get("name")
    return None if label is None else str(label)
