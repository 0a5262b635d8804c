"""Agents at work (DESIGN.md, "Agents at work"): an agent drives the desktop, the person steps in.

* ``channel``: the recorder's second input source; tells the agent's injected input from the
  person's and says who has control (takeover, hand back).
* ``actuate``: vocabulary actions -> synthetic input through the backend's injector.
* ``runner``: the loop (look through the policy gate, ask the model, act, record).

Intervention records are derived from the session's events by ``process.interventions``.
"""
