"""workprint: record how people use computers, with consent, and turn it into agent training data.

The data flow (see DESIGN.md) is visible in the package layout:
``capture`` (sources) -> ``privacy`` (policy gate, redaction) -> ``store`` (encrypted
session store) -> ``process`` (actions, episodes) -> ``export``.
"""

__version__ = "0.1.0"
