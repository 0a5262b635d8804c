"""Keys as every backend hands them over: pyautogui names and the character typed.

Platform-neutral: a backend turns its own key objects (pynput's, X keysyms, virtual-key
codes) into a ``Key`` inside its input hook, so the recorder, the agent channel and the
exports never see a platform's key type.
"""

from __future__ import annotations

from dataclasses import dataclass

MODIFIERS = {"ctrl", "alt", "shift", "win", "altgr"}

# Keys that produce text when typed without ctrl/alt/win.
TEXT_KEYS = {"space": " "}

# A key the backend cannot name is named after its platform code: "vk" + the code.
UNNAMED_PREFIX = "vk"


@dataclass(frozen=True)
class Key:
    """One key as the input hooks saw it.

    ``name``: lowercase pyautogui name (``"enter"``, ``"ctrl"``, ``"a"``), ``"vk<code>"`` for a
    key with no name, None for one the backend could not identify at all (it is not recorded).
    ``char``: the text the key typed, None for a key that types none (ctrl+letter, enter).
    ``code``: the platform's code for the key (an X keysym on X11), only for matching the
    agent's injected keys against what the hooks report; never written.
    """

    name: str | None
    char: str | None = None
    code: int | None = None

    @classmethod
    def typing(cls, char: str, code: int | None = None) -> "Key":
        """The key that typed ``char`` (the name is the character, lowercased)."""
        return cls(char.lower() if len(char) == 1 else char, char, code)

    @classmethod
    def unnamed(cls, code: int) -> "Key":
        return cls(f"{UNNAMED_PREFIX}{code}", None, code)

    @property
    def named(self) -> bool:
        """Whether the backend knew the key (its name is not made up from its code)."""
        return self.name is not None and not self.name.startswith(UNNAMED_PREFIX)
