"""One base for workprint's own errors: the command line reports any of them without a traceback."""

from __future__ import annotations

import importlib

import pytest

from workprint.errors import WorkprintError

ERRORS = [
    ("workprint.cli.common", "UserError"), ("workprint.store.session", "StoreError"),
    ("workprint.store.crypto", "DecryptError"), ("workprint.privacy.policy", "PolicyError"),
    ("workprint.export.steps", "ExportError"), ("workprint.upload.client", "UploadError"),
    ("workprint.capture.base", "BackendUnavailable"), ("workprint.capture.browser", "BridgeError"),
]


@pytest.mark.parametrize("module,name", ERRORS)
def test_every_workprint_error_shares_one_base(module, name):
    assert issubclass(getattr(importlib.import_module(module), name), WorkprintError)


def test_an_error_no_command_catches_is_reported_without_a_traceback(monkeypatch, capsys):
    from workprint import cli
    from workprint.store.session import StoreError

    def fails(args):
        raise StoreError("the store says what to do")

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), fails))
    assert cli.main(["sessions"]) == 2
    assert capsys.readouterr().err.strip() == "workprint: the store says what to do"


def _with_func(parser, func):
    parser.set_defaults(func=func)
    original = parser.parse_args

    def parse(argv=None):
        args = original(argv)
        args.func = func
        return args

    parser.parse_args = parse
    return parser
