"""The data flows one way: each stage imports only from stages before it (README, "How it works").

capture → privacy → store → process → export → evals → upload → server. Foundation modules
(errors, files, settings, home, imaging, model, vocabulary) may be imported by any stage; the orchestrators
(recorder, agent, cli, demo) may import anything, and no stage may import them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import workprint

STAGES = ["capture", "privacy", "store", "process", "export", "evals", "upload", "server"]
FOUNDATION = {"errors", "files", "settings", "home", "imaging", "model", "vocabulary", "__init__", "__main__"}
ORCHESTRATORS = {"recorder", "agent", "cli", "demo"}
ROOT = Path(workprint.__file__).parent


def all_imports(path: Path) -> list[str]:
    """Every module a file imports by absolute name."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def imports_of(path: Path) -> list[str]:
    return [n for n in all_imports(path) if n.startswith("workprint.")]


def test_every_module_is_in_a_known_place():
    top = {p.stem for p in ROOT.glob("*.py")} | {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert top <= set(STAGES) | FOUNDATION | ORCHESTRATORS, top - set(STAGES) - FOUNDATION - ORCHESTRATORS


def test_stages_import_only_from_stages_before_them():
    backwards = []
    checked = 0
    for stage in STAGES:
        for path in (ROOT / stage).rglob("*.py"):
            checked += 1
            for name in imports_of(path):
                target = name.split(".")[1]
                if target == stage or target in FOUNDATION:
                    continue
                if target in ORCHESTRATORS or STAGES.index(target) > STAGES.index(stage):
                    backwards.append(f"{path.relative_to(ROOT)} imports {name}")
    assert checked > 40, "the stages were found"
    assert not backwards, "imports against the data flow:\n" + "\n".join(backwards)


def test_foundation_imports_no_stage():
    for name in FOUNDATION - {"__init__", "__main__"}:
        path = ROOT / f"{name}.py"
        paths = [path] if path.exists() else list((ROOT / name).rglob("*.py"))
        for p in paths:
            wrong = [n for n in imports_of(p) if n.split(".")[1] not in FOUNDATION]
            assert not wrong, f"{p.relative_to(ROOT)} imports {wrong}"
