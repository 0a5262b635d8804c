"""``make demo``: record a real session end to end and show what came out of it.

With no screen (no DISPLAY, or ``--virtual``) it starts a virtual desktop, opens mousepad,
plays a scripted demonstration while ``workprint record`` runs, then prints the actions.
On a desktop it records the real screen until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


TASK = "Write a short note in Mousepad with a ticket number and a contact line, then select and edit its text"


def _workprint(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workprint", *args], env=env, text=True, **kwargs)


def _finish(env: dict[str, str], out: Path) -> None:
    print("\n== actions (workprint actions latest) ==")
    _workprint("actions", "latest", env=env, check=True)
    print("\n== sessions ==")
    _workprint("sessions", env=env, check=True)
    extra = []
    if _workprint("export", "--help", env=env, capture_output=True).returncode == 0:
        _workprint("export", "latest", "--format", "hf", "--out", str(out / "dataset-hf"), env=env, check=True)
        extra.append(f"  dataset (Hugging Face parquet): {out / 'dataset-hf'}")
    if _workprint("report", "--help", env=env, capture_output=True).returncode == 0:
        _workprint("report", "latest", "--out", str(out / "replay.html"), env=env, check=True)
        extra.append(f"  replay report: {out / 'replay.html'}")
    print("\nworkprint demo finished.")
    print(f"  session store (encrypted): {env['WORKPRINT_HOME']}")
    for line in extra:
        print(line)


def virtual_demo(out: Path) -> int:
    from workprint.demo.desktop import VirtualDesktop
    from workprint.demo.recording import Recording, accept_consent
    from workprint.demo.scenario import MousepadScript

    policy = out / "policy.toml"
    policy.write_text('[apps]\nallow = ["mousepad"]\n')
    print("workprint demo: starting a virtual desktop (Xvfb, openbox, AT-SPI) with mousepad ...")
    with VirtualDesktop() as desk:
        desk.spawn(["mousepad"])
        wid = desk.wait_window("mousepad")
        desk.xdotool("windowsize", wid, 1400, 900)  # a window worth looking at in the replay report
        desk.xdotool("windowmove", wid, 260, 90)
        time.sleep(1.0)
        line = accept_consent({**desk.env, "WORKPRINT_HOME": str(out / "home")}, policy)
        print(f"workprint demo: consent accepted explicitly (workprint consent accept --yes --policy {policy.name}): "
              f"{line.removeprefix('workprint: ')}")
        recorder = Recording(desk, out / "home", policy, quiet=False, capture=False, consent=False)
        env = recorder.env
        print("workprint demo: playing a scripted demonstration (click, type, menu, hotkey, scroll, drag) ...")
        try:
            # A marked task makes the demonstration an episode with an instruction, ending in `done`,
            # as the exports for OpenCUA's tools and trainers expect.
            _workprint("task", "start", TASK, env=env, check=True, stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            MousepadScript(desk, wid).play()
            time.sleep(1.0)
            _workprint("task", "end", env=env, check=True, stdout=subprocess.DEVNULL)
        finally:
            time.sleep(1.0)
            code, _, _ = recorder.stop()
        if code != 0:
            print(f"workprint demo: the recorder exited with {code}", file=sys.stderr)
            return code
    _finish(env, out)
    return agent_demo(out, Path(env["WORKPRINT_HOME"]))


def agent_demo(out: Path, home: Path) -> int:
    """A short agent run against a scripted model server, with a person stepping in; then the
    interventions and the preference export (see ``demo.agent_scenario``)."""
    from workprint.demo.agent_scenario import AgentScenario, open_desktop_apps
    from workprint.demo.desktop import VirtualDesktop

    policy = out / "policy.toml"
    print("\nworkprint demo: an agent run (scripted model server on 127.0.0.1) with a person taking over ...")
    with VirtualDesktop() as desk:
        pad, term = open_desktop_apps(desk)
        scenario = AgentScenario(desk, home, policy, pad, term)
        code, _, err = scenario.play()
        sys.stderr.write(err)
        if code != 0:
            print(f"workprint demo: the agent run exited with {code}", file=sys.stderr)
            return code
    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    print("\n== agent run: actions (workprint actions latest) ==")
    _workprint("actions", "latest", env=env, check=True)
    print("\n== interventions (workprint interventions latest) ==")
    _workprint("interventions", "latest", env=env, check=True)
    _workprint("export", "latest", "--format", "preference", "--out", str(out / "dataset-preference"), "--quiet",
               env=env, check=True)
    _workprint("report", "latest", "--out", str(out / "agent-replay.html"), "--quiet", env=env, check=True)
    print(f"\n  preference pairs (TRL DPO, parquet): {out / 'dataset-preference'}")
    print(f"  agent run replay report: {out / 'agent-replay.html'}")
    return 0


def desktop_demo(out: Path) -> int:
    from workprint.demo.recording import accept_consent

    env = {**os.environ, "WORKPRINT_HOME": str(out / "home")}
    subprocess.run([sys.executable, "-m", "workprint", "consent", "show"], env=env, check=True)
    print(f"workprint demo: consent accepted explicitly (workprint consent accept --yes): "
          f"{accept_consent(env).removeprefix('workprint: ')}")
    print("workprint demo: recording your real screen; work a little, then press Ctrl-C.")
    recorder = subprocess.Popen([sys.executable, "-m", "workprint", "record"], env=env)
    try:
        recorder.wait()
    except KeyboardInterrupt:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
    _finish(env, out)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m workprint.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo-output", help="where the demo writes (default: demo-output)")
    parser.add_argument("--virtual", action="store_true", help="use a virtual desktop even if a screen exists")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.virtual or not os.environ.get("DISPLAY") or os.environ.get("CI"):
        return virtual_demo(out)
    return desktop_demo(out)


if __name__ == "__main__":
    raise SystemExit(main())
