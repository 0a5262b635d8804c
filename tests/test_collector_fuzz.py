"""Schemathesis against the collector's own OpenAPI: generated requests never crash it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from workprint.server import create_app

_DATA = Path(tempfile.mkdtemp(prefix="workprint-fuzz-"))
app = create_app(_DATA)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
ADMIN = {"Authorization": "Bearer " + (_DATA / "admin.token").read_text().strip()}


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    for headers in (ADMIN, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
