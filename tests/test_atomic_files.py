"""One way to write a file that must never be seen half-written: ``workprint.files.atomic_write``.

A hand-written copy (temporary file, rename) tends to miss a step: the fsync of the folder, the
final mode from the first byte, a unique temporary name. This pins that no module renames files
into place itself, and that the helper creates files private from the start."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

from workprint.files import atomic_write

SRC = Path(__file__).resolve().parent.parent / "src" / "workprint"
# Folders swapped whole, not files written: "delete range" replaces a session's events/ folder.
FOLDER_SWAPS = {("store/session.py", "_settle_event_log"), ("store/session.py", "delete_range")}
RENAMES = {("os", "replace"), ("os", "rename"), ("shutil", "move")}


def _renames(root: Path = SRC) -> list[tuple[str, str, int]]:
    found = []
    for path in root.rglob("*.py"):
        rel = str(path.relative_to(root))
        if rel == "files.py":
            continue
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
                    if (owner, node.func.attr) in RENAMES or node.func.attr == "rename":
                        if (rel, func.name) not in FOLDER_SWAPS:
                            found.append((rel, func.name, node.lineno))
    return found


def test_no_module_renames_a_file_into_place_by_hand():
    assert not _renames(), "write files with workprint.files.atomic_write, not a temporary file and a rename"


def test_the_scan_sees_a_hand_written_rename(tmp_path):
    (tmp_path / "probe.py").write_text("import os\n\ndef save(path):\n    os.replace(str(path) + '.tmp', path)\n")
    (tmp_path / "files.py").write_text("import os\n\ndef atomic_write(path):\n    os.replace(path, path)\n")
    assert [(rel, name) for rel, name, _ in _renames(tmp_path)] == [("probe.py", "save")]


def test_atomic_write_creates_the_file_private_from_the_first_byte(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "new" / "record.json"
        atomic_write(target, '{"a": 1}')
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["record.json"], "no temporary file left"
