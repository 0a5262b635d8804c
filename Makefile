# make demo: record a real (virtual, scripted) session end to end.  make test: all tests.
# Both create and use .venv at the repo root, and install the system packages they drive.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages: a virtual X display, xdotool, a window manager, the accessibility bus,
# and the real GUI apps the demo and tests drive; PostgreSQL and nginx for the collector's
# several-replica tests (each starts a private cluster / proxy in a temp dir).
SYSTEM_PACKAGES := xvfb xdotool x11-utils dbus dbus-x11 at-spi2-core openbox mousepad zenity xterm libnotify-bin chromium \
	postgresql nginx
SYSTEM_TOOLS := Xvfb xdotool xprop dbus-daemon openbox mousepad zenity xterm chromium pg_ctlcluster nginx

.PHONY: demo test typecheck sysdeps venv clean

demo: sysdeps venv
	$(PY) -m workprint.demo

test: sysdeps venv typecheck
	$(PY) -m pytest

# Type-check src/ (settings in pyproject.toml's [tool.mypy]); part of `make test`, so of CI.
typecheck: venv
	$(PY) -m mypy

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

sysdeps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages (missing:$$missing)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "please install: $(SYSTEM_PACKAGES)"; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

clean:
	rm -rf $(VENV) demo-output bench/out .pytest_cache
