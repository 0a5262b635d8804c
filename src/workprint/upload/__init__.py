"""The device side of collection: enrolment, review state, and resumable uploads."""
