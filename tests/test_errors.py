"""One base for workprint's own errors: the command line reports any of them without a traceback."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from workprint.errors import WorkprintError

SRC = Path(__file__).resolve().parent.parent / "src" / "workprint"
BUILTIN = {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}
# Not errors: control flow that never reaches a person (an agent step cut short by a takeover) and
# FastAPI's own exception type, which its handlers need.
SIGNALS = {("workprint.agent.actuate", "Interrupted"), ("workprint.server.app", "TooLarge")}


def _exception_classes() -> list[tuple[str, str]]:
    """Every class in workprint's source that derives from an exception: a built-in one, one of
    workprint's own (named ...Error), or another library's (HTTPException)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                         for b in node.bases}
                if bases & BUILTIN or any(b.endswith(("Error", "Exception")) for b in bases):
                    found.append((module, node.name))
    return found


ERRORS = _exception_classes()


def test_the_scan_finds_the_errors():
    assert ("workprint.store.session", "StoreError") in ERRORS and ("workprint.model.client", "ModelError") in ERRORS
    assert len(ERRORS) >= 20


@pytest.mark.parametrize("module,name", ERRORS)
def test_every_workprint_error_shares_one_base(module, name):
    if (module, name) in SIGNALS:
        return
    assert issubclass(getattr(importlib.import_module(module), name), WorkprintError), \
        f"{module}.{name} must subclass workprint.errors.WorkprintError"


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
