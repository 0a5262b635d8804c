"""The shapes workprint's data takes, in one place: raw events, actions, targets, rectangles.

A foundation module (any stage may import it; it imports nothing of ours). The field names
are DESIGN.md's contract ("Action vocabulary"); this module only gives them types, so that
a misspelt field or an unknown action type is a type error instead of a silent ``KeyError``
three stages later.

* **Raw events** (:class:`Event`) are what the recorder writes to a session's event log, one
  JSON object each, told apart by ``kind``. One wide ``TypedDict`` holds the fields of every
  kind (which fields a kind has is listed in :data:`EVENT_FIELDS`): the processing code walks
  mixed lists of events, and a union of per-kind types would force a cast at every ``e["x"]``.
* **Actions** (:class:`Action`) are derived from events, in the vocabulary agents act in.
  :data:`ACTION_SPECS` says, per action type, which fields it needs and its *shape*; the
  shape is the one dispatch every consumer keys its handlers on (pyautogui code, the
  ``workprint actions`` line, reading tool calls, eval checks, judges and baselines), so a new
  action type is one row here, and a handler only where its shape is new.
* **Rectangles** in memory are :class:`Rect`: corners ``x0, y0, x1, y1`` in screen pixels,
  end exclusive (numpy slices ``rgb[y0:y1, x0:x1]`` and area ``(x1-x0)*(y1-y0)``). On disk and
  in exports they stay what DESIGN.md says, ``[x, y, w, h]`` (a target's ``bbox``, a focus
  event's ``rect``, a frame's ``masks``, the frame codec's ``boxes``); convert at the edges
  with :meth:`Rect.from_xywh` and :attr:`Rect.xywh`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Required, Sequence, TypedDict, get_args

# ---------------------------------------------------------------------------- rectangles


class Rect(NamedTuple):
    """A screen rectangle by its corners, end exclusive: ``x0 <= x < x1``, ``y0 <= y < y1``.

    A named tuple, so hot loops (frame diffs, OCR boxes) pay nothing for it and
    ``x0, y0, x1, y1 = rect`` still reads naturally.
    """

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def from_xywh(cls, x: int, y: int, w: int, h: int) -> "Rect":
        """From the on-disk form: left, top, width, height."""
        return cls(x, y, x + w, y + h)

    @classmethod
    def from_corners(cls, x0: int, y0: int, x1: int, y1: int) -> "Rect":
        return cls(x0, y0, x1, y1)

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.w) * max(0, self.h)

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        """The on-disk form: ``[x, y, w, h]`` as DESIGN.md writes a ``bbox``."""
        return self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0

    @property
    def corners(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    @property
    def centre(self) -> tuple[int, int]:
        return (self.x0 + self.x1) // 2, (self.y0 + self.y1) // 2

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def union(self, other: "Rect") -> "Rect":
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))


def rect_of_bbox(bbox: Sequence[int] | None) -> Rect | None:
    """A stored ``[x, y, w, h]`` (a target's ``bbox``) as a :class:`Rect`; None when there is none."""
    if not bbox or len(bbox) != 4:
        return None
    x, y, w, h = bbox
    return Rect.from_xywh(x, y, w, h)


# ---------------------------------------------------------------------------- targets and screens


class Target(TypedDict, total=False):
    """What an action was done on, from the DOM or the accessibility tree."""

    role: str | None
    name: str | None
    bbox: list[int]  # [x, y, w, h], screen pixels (Rect.from_xywh in memory)
    selector: str | None
    tag: str | None


class ScreenInfo(TypedDict, total=False):
    """``screen`` of a session and of each action."""

    w: int
    h: int
    scale: float


class ModelInfo(TypedDict, total=False):
    """``model`` of an agent's action: which model, and its raw reply."""

    name: str | None
    reply: str | None


# ---------------------------------------------------------------------------- actions

ActionType = Literal["click", "double_click", "right_click", "middle_click", "drag", "scroll", "type", "hotkey",
                     "key", "select", "navigate", "wait", "done", "fail", "call_user"]
ACTION_TYPES: frozenset[str] = frozenset(get_args(ActionType))
Source = Literal["human", "agent"]
Button = Literal["left", "right", "middle"]


class Action(TypedDict, total=False):
    """One action (DESIGN.md, "Action vocabulary"); which fields a type needs: :data:`ACTION_SPECS`."""

    id: int | None  # None: an episode's closing ``done``/``fail``, which no event made
    type: Required[ActionType]
    # pointer
    x: int
    y: int
    x2: int
    y2: int
    button: str
    dx: int
    dy: int
    # text and keys
    text: str
    redacted: list[str]
    keys: list[str]
    # choices, pages, episode control
    value: str | None
    label: str | None
    url: str | None
    status: str
    message: str
    seconds: float
    # where, when, who
    t: float
    t_end: float
    raw: list[int] | None  # None: as ``id``
    source: Source
    model: ModelInfo
    agent_step: int
    app: str | None
    window: str | None
    target: Target
    screen: ScreenInfo | None
    frame: str | None
    frame_after: str | None
    trace: list[list[float]]
    rejected: "Action"  # the agent's action a person's correction replaced (agent runs)
    # a step's reasoning, when whoever built the step carried it on the action (export.steps.Step.notes)
    observation: str
    thought: str
    description: str
    reflection: str
    quality: str


# How an action type is performed: the one dispatch over action types. Consumers keep a
# handler per shape (or per type where types of one shape differ) and look it up with
# ``action_shape``; adding an action type means one row here and a handler where a shape is new.
Shape = Literal["point", "drag", "scroll", "text", "keys", "choice", "url", "control"]


@dataclass(frozen=True)
class ActionSpec:
    type: ActionType
    shape: Shape
    needs: tuple[str, ...]  # fields an action of this type cannot do without
    button: Button | None = None  # the button a pointer action presses


ACTION_SPECS: dict[str, ActionSpec] = {s.type: s for s in (
    ActionSpec("click", "point", ("x", "y"), "left"),
    ActionSpec("double_click", "point", ("x", "y"), "left"),
    ActionSpec("right_click", "point", ("x", "y"), "right"),
    ActionSpec("middle_click", "point", ("x", "y"), "middle"),
    ActionSpec("drag", "drag", ("x", "y", "x2", "y2"), "left"),
    ActionSpec("scroll", "scroll", ("x", "y")),
    ActionSpec("type", "text", ("text",)),
    ActionSpec("hotkey", "keys", ("keys",)),
    ActionSpec("key", "keys", ("keys",)),
    ActionSpec("select", "choice", ("label",)),
    ActionSpec("navigate", "url", ("url",)),
    ActionSpec("wait", "control", ()),
    ActionSpec("done", "control", ()),
    ActionSpec("fail", "control", ()),
    ActionSpec("call_user", "control", ()),
)}

CLICK_TYPES: frozenset[str] = frozenset(t for t, s in ACTION_SPECS.items() if s.shape == "point")
CLICK_OF_BUTTON: dict[str, ActionType] = {"left": "click", "right": "right_click", "middle": "middle_click"}


def action_spec(action_type: str) -> ActionSpec:
    """The spec of an action type; ValueError names the types there are."""
    spec = ACTION_SPECS.get(action_type)
    if spec is None:
        raise ValueError(f"unknown action type {action_type!r}; one of {', '.join(sorted(ACTION_TYPES))}")
    return spec


def action_shape(action_type: str) -> Shape:
    return action_spec(action_type).shape


def button_of(action_type: str) -> str:
    """The button a click or drag of this type presses (``left`` for anything else)."""
    spec = ACTION_SPECS.get(action_type)
    return (spec.button if spec else None) or "left"


# ---------------------------------------------------------------------------- raw events

EventKind = Literal[
    "session", "stop", "note", "deleted_range",
    # input
    "move", "press", "release", "wheel", "key_down", "key_up", "typed", "secure_input",
    # screen and windows
    "focus", "frame", "target",
    # the browser extension
    "dom_navigate", "dom_click", "dom_choose", "dom_select", "dom_input", "dom_scroll", "dom_submit",
    # control
    "pause", "resume", "task_start", "task_end",
    # agent runs
    "agent_start", "agent_step", "agent_proposed", "agent_log", "agent_end", "takeover", "handback",
    "intervention",
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))


class Event(TypedDict, total=False):
    """One record of a session's event log: the fields of every kind (see :data:`EVENT_FIELDS`).

    ``id`` is given by the writer when the event is appended (``SessionWriter.append``).
    """

    id: int
    kind: Required[str]  # an EventKind; str because logs written by older versions may hold others
    t: Required[float]  # seconds from session start
    t_end: float
    # pointer and keys
    x: int
    y: int
    button: str
    dx: int
    dy: int
    key: str | None
    char: str | None
    masked: bool
    app: str | None
    agent: int  # the agent step that injected this input (agent runs)
    # typing runs
    text: str
    raw: list[int] | None
    run: int | None
    redacted: list[str]
    recovered: bool
    # windows and frames
    app_ids: list[str]
    wid: int
    window: str | None
    rect: list[int]  # [x, y, w, h]
    denied: bool
    frame: str
    stable: bool
    reason: str
    w: int
    h: int
    stored: str
    masks: list[list[int]]  # [[x, y, w, h], ...]
    # accessibility targets: ``of`` is the press they belong to
    of: int
    role: str | None
    name: str | None
    bbox: list[int]  # [x, y, w, h]
    # browser
    url: str | None
    how: str
    label: str | None
    value: str | None
    dy_px: int
    target: Target
    # control and agent runs
    instruction: str
    by: str
    status: str
    task: str
    model: str | None  # the model's name (agent_start)
    format: str
    max_steps: int | None
    step: int
    action: Action
    reply: str | None
    why: str | None
    message: str
    trigger: str
    handback: str
    n: int
    events: int
    # the session record (the first event) also holds free-form metadata: ``SessionReader.meta``
    settings: dict[str, Any]
    screen: ScreenInfo


# Which fields each kind carries besides id, kind and t (documentation, and the test that the
# recorder writes nothing else).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "move": ("x", "y"),
    "press": ("x", "y", "button", "app"),
    "release": ("x", "y", "button"),
    "wheel": ("x", "y", "dx", "dy", "app"),
    "key_down": ("key", "char", "app", "masked"),
    "key_up": ("key", "app"),
    "typed": ("t_end", "text", "app", "raw", "run", "redacted", "recovered"),
    "secure_input": ("app",),
    "focus": ("app", "app_ids", "wid", "window", "rect", "redacted", "denied"),
    "frame": ("frame", "stable", "reason", "w", "h", "stored", "masks"),
    "target": ("of", "role", "name", "bbox", "redacted"),
    "dom_navigate": ("url", "target", "how"),
    "dom_click": ("url", "target", "x", "y"),
    "dom_choose": ("url", "target", "label", "value", "redacted"),
    "dom_select": ("url", "target", "label", "value", "redacted"),
    "dom_input": ("url", "target", "t_end", "text", "redacted"),
    "dom_scroll": ("url", "target", "dy_px"),
    "dom_submit": ("url", "target"),
    "task_start": ("instruction", "by", "redacted"),
    "task_end": ("status",),
    "agent_start": ("task", "model", "format", "max_steps", "redacted"),
    "agent_step": ("step", "action", "reply"),
    "agent_proposed": ("step", "n", "action", "reply", "why"),
    "agent_log": ("message",),
    "agent_end": ("status",),
    "takeover": ("trigger", "n", "message", "app", "redacted"),
    "handback": ("how", "n"),
    "intervention": ("t_end", "trigger", "handback", "n"),
    "deleted_range": ("t_end", "events"),
}
