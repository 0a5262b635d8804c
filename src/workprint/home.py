"""Where workprint keeps its data, and the contributor's local pseudonymous id.

``WORKPRINT_HOME`` overrides the platform's user data dir. Nothing in here names the
login or the machine: the contributor is a random id created on first use.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import platformdirs

from workprint.files import atomic_write, create_exclusive


def home_path() -> Path:
    """Where the folder is, without creating it (a refused `workprint record` writes nothing)."""
    env = os.environ.get("WORKPRINT_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("workprint", appauthor=False))


def workprint_home() -> Path:
    """The folder holding sessions, keys and config; created (mode 0700) if missing."""
    home = home_path()
    home.mkdir(parents=True, exist_ok=True)
    try:
        home.chmod(0o700)
    except OSError:
        pass
    return home


def contributor_id(home: Path) -> str:
    """A stable pseudonymous id for the person recorded on this device (``c-`` + 12 hex)."""
    path = home / "identity.json"
    if path.exists():
        return json.loads(path.read_text())["contributor"]
    # Two first runs at once agree on one id: the file is created once, complete, never replaced.
    create_exclusive(path, json.dumps({"contributor": "c-" + secrets.token_hex(6)}).encode())
    return json.loads(path.read_text())["contributor"]


def pause_flag(home: Path) -> Path:
    """While this file exists the recorder writes nothing (``workprint pause`` / ``resume``)."""
    return home / "paused"


def set_paused(home: Path, paused: bool) -> bool:
    """Pause or resume recording (``workprint pause``/``resume``, the pause hotkey): the one way
    to do it, through the flag the running recorder polls. Returns whether this changed it."""
    flag = pause_flag(home)
    if flag.exists() == paused:
        return False
    if paused:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)
    return True


def control_dir(home: Path) -> Path:
    """Commands for the running recorder (``workprint task start``), one JSON file each."""
    path = home / "control"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def send_control(home: Path, command: dict[str, Any]) -> Path:
    """Queue a command for the running recorder; it picks commands up within a fraction of a second."""
    import time

    folder = control_dir(home)
    path = folder / f"{time.time_ns()}-{os.getpid()}.json"
    atomic_write(path, json.dumps(command))
    return path


def agent_run_file(home: Path) -> Path:
    """Exists while an agent run is going on in the recorder; holds that recorder's process id, so
    `workprint agent resume|stop` can tell a run from a recording with no agent (or a dead one)."""
    return home / "run" / "agent-run"


def mark_agent_run(home: Path, going: bool) -> None:
    """The recorder says an agent run started (``going``) or ended in it (see ``agent_run_file``)."""
    from workprint.files import private_dir

    path = agent_run_file(home)
    if going:
        private_dir(path.parent)
        atomic_write(path, str(os.getpid()))
    else:
        path.unlink(missing_ok=True)


def agent_run_going(home: Path) -> bool:
    """True if an agent run is going on in a live recorder (see ``agent_run_file``)."""
    try:
        pid = int(agent_run_file(home).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def ready_file(home: Path, pid: int) -> Path:
    """Exists while the recorder with process id ``pid`` records: its hooks, screen sampler and
    accessibility listener are up, so input from now on is recorded (tests and the demo wait for it)."""
    return home / "run" / f"recording-{pid}.ready"


def announce_ready(home: Path, session_id: str) -> Path:
    """Write this process's ready file (see ``ready_file``); the caller removes it when it stops."""
    from workprint.files import private_dir

    private_dir(home / "run")
    path = ready_file(home, os.getpid())
    atomic_write(path, session_id.encode())
    return path
