"""What may be recorded (policy gate) and what must be removed before storage (redaction)."""

from workprint.privacy.policy import Policy, PolicyError
from workprint.privacy.redact import Redaction, redact

__all__ = ["Policy", "PolicyError", "Redaction", "redact"]
