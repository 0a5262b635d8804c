"""Key names in pyautogui's vocabulary, from pynput key objects (shared by all platforms)."""

from __future__ import annotations

from typing import Any

from pynput.keyboard import Key, KeyCode

MODIFIERS = {"ctrl", "alt", "shift", "win", "altgr"}

_SPECIAL = {
    Key.alt: "alt", Key.alt_l: "alt", Key.alt_r: "alt", Key.alt_gr: "altgr",
    Key.ctrl: "ctrl", Key.ctrl_l: "ctrl", Key.ctrl_r: "ctrl",
    Key.shift: "shift", Key.shift_l: "shift", Key.shift_r: "shift",
    Key.cmd: "win", Key.cmd_l: "win", Key.cmd_r: "win",
    Key.backspace: "backspace", Key.caps_lock: "capslock", Key.delete: "delete",
    Key.down: "down", Key.up: "up", Key.left: "left", Key.right: "right",
    Key.end: "end", Key.home: "home", Key.enter: "enter", Key.esc: "esc", Key.tab: "tab",
    Key.space: "space", Key.page_down: "pagedown", Key.page_up: "pageup",
    Key.insert: "insert", Key.menu: "apps", Key.num_lock: "numlock", Key.pause: "pause",
    Key.print_screen: "printscreen", Key.scroll_lock: "scrolllock",
    Key.media_play_pause: "playpause", Key.media_volume_mute: "volumemute",
    Key.media_volume_down: "volumedown", Key.media_volume_up: "volumeup",
    Key.media_previous: "prevtrack", Key.media_next: "nexttrack",
}
for _n in range(1, 21):
    _k = getattr(Key, f"f{_n}", None)
    if _k is not None:
        _SPECIAL[_k] = f"f{_n}"

# X keysyms pynput reports as bare key codes.
_KEYSYMS = {0xFF0A: "enter", 0xFF8D: "enter", 0xFF09: "tab", 0xFE20: "tab"}

# Keys that produce text when typed without ctrl/alt/win.
TEXT_KEYS = {"space": " "}


def describe(key: Any) -> tuple[str | None, str | None]:
    """(pyautogui name, text character or None) for a pynput key."""
    if isinstance(key, Key):
        name = _SPECIAL.get(key)
        return name, TEXT_KEYS.get(name or "")
    if isinstance(key, KeyCode):
        char = key.char
        if char and char.isprintable():
            return char.lower() if len(char) == 1 else char, char
        if char and len(char) == 1 and ord(char) < 32:  # ctrl+letter may arrive as a control char
            return chr(ord(char) + 96), None
        if key.vk is not None:
            return _KEYSYMS.get(key.vk, f"vk{key.vk}"), None
    return None, None
