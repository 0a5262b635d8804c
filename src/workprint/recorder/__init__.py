"""The recorder: capture sources -> policy gate -> session store (DESIGN.md, data flow).

* ``gate``: what is written — the policy, pause, hotkeys, secure fields, who made an input
  event (the person or the agent); plain code, tested without a display;
* ``runs``: typing runs, held back until they end so they are written redacted;
* ``dom``: events from the browser extension;
* ``frames``: which screen grabs are kept for the actions;
* ``control``: pause, task marks and their hotkeys;
* ``lifecycle``: the ``Recorder``, which builds these parts, runs their threads and stops them.
"""

from workprint.recorder.control import PAUSE_HOTKEY, TASK_HOTKEY
from workprint.recorder.lifecycle import Recorder, new_session_id

__all__ = ["PAUSE_HOTKEY", "TASK_HOTKEY", "Recorder", "new_session_id"]
