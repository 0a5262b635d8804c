"""pynput's key objects -> ``Key``, for backends whose input hooks are pynput's.

pynput names its special keys the same way on X11, macOS and Windows, so this table serves
any backend built on it; what a platform reports as a bare key code (``vk``) is the
backend's to name (``platform_codes``).
"""

from __future__ import annotations

from typing import Any, Mapping

from pynput.keyboard import Key as PynputKey
from pynput.keyboard import KeyCode

from workprint.capture.keys import TEXT_KEYS, Key

_SPECIAL = {
    PynputKey.alt: "alt", PynputKey.alt_l: "alt", PynputKey.alt_r: "alt", PynputKey.alt_gr: "altgr",
    PynputKey.ctrl: "ctrl", PynputKey.ctrl_l: "ctrl", PynputKey.ctrl_r: "ctrl",
    PynputKey.shift: "shift", PynputKey.shift_l: "shift", PynputKey.shift_r: "shift",
    PynputKey.cmd: "win", PynputKey.cmd_l: "win", PynputKey.cmd_r: "win",
    PynputKey.backspace: "backspace", PynputKey.caps_lock: "capslock", PynputKey.delete: "delete",
    PynputKey.down: "down", PynputKey.up: "up", PynputKey.left: "left", PynputKey.right: "right",
    PynputKey.end: "end", PynputKey.home: "home", PynputKey.enter: "enter", PynputKey.esc: "esc",
    PynputKey.tab: "tab", PynputKey.space: "space", PynputKey.page_down: "pagedown",
    PynputKey.page_up: "pageup", PynputKey.insert: "insert", PynputKey.menu: "apps",
    PynputKey.num_lock: "numlock", PynputKey.pause: "pause", PynputKey.print_screen: "printscreen",
    PynputKey.scroll_lock: "scrolllock", PynputKey.media_play_pause: "playpause",
    PynputKey.media_volume_mute: "volumemute", PynputKey.media_volume_down: "volumedown",
    PynputKey.media_volume_up: "volumeup", PynputKey.media_previous: "prevtrack",
    PynputKey.media_next: "nexttrack",
}
for _n in range(1, 21):
    _k = getattr(PynputKey, f"f{_n}", None)
    if _k is not None:
        _SPECIAL[_k] = f"f{_n}"


def _code(key: Any) -> int | None:
    vk = getattr(key, "vk", None)
    if vk is None:
        vk = getattr(getattr(key, "value", None), "vk", None)
    return vk


def key_of(key: Any, platform_codes: Mapping[int, str] = {}) -> Key:
    """The ``Key`` for a pynput key object; ``platform_codes`` names codes pynput leaves bare."""
    code = _code(key)
    if isinstance(key, PynputKey):
        name = _SPECIAL.get(key)
        return Key(name, TEXT_KEYS.get(name or ""), code)
    if isinstance(key, KeyCode):
        char = key.char
        if char and char.isprintable():
            return Key.typing(char, code)
        if char and len(char) == 1 and ord(char) < 32:  # ctrl+letter may arrive as a control char
            return Key(chr(ord(char) + 96), None, code)
        if code is not None:
            name = platform_codes.get(code)
            return Key(name, None, code) if name else Key.unnamed(code)
    return Key(None, None, code)
