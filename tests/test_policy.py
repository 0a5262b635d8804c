"""The policy gate's rules: allow-lists, a built-in deny-list that cannot shrink, clear errors."""

from __future__ import annotations

import pytest

from workprint.privacy.policy import Policy, PolicyError


def _policy(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return Policy.load(path)


def test_allow_list_is_case_insensitive_and_matches_any_app_id(tmp_path):
    policy = _policy(tmp_path, '[apps]\nallow = ["Mousepad", "chrom*"]\n')
    assert policy.app_allowed(("mousepad", "mousepad"))
    assert policy.app_allowed(("chromium-browser", "Chromium-browser"))
    assert not policy.app_allowed(("xterm", "xterm"))
    assert not policy.app_allowed(None), "an unknown app is not recorded under an allow-list"


def test_builtin_deny_list_cannot_be_shrunk(tmp_path):
    policy = _policy(tmp_path, '[apps]\nallow = ["keepassxc", "pinentry-gtk-2", "mousepad"]\n')
    assert not policy.app_allowed(("keepassxc",))
    assert not policy.app_allowed(("pinentry-gtk-2",))
    assert policy.app_allowed(("mousepad",))


def test_deny_extends_and_private_windows_are_never_recorded(tmp_path):
    policy = _policy(tmp_path, '[apps]\ndeny = ["slack"]\n')
    assert not policy.app_allowed(("slack",))
    assert policy.app_allowed(("firefox",), "Inbox - Mozilla Firefox")
    assert not policy.app_allowed(("firefox",), "Inbox - Mozilla Firefox Private Browsing")
    assert not policy.app_allowed(("chromium",), "New Tab - Chromium (Incognito)")
    assert not policy.app_allowed(("xterm",), "[sudo] password for alice")


def test_default_policy_records_every_app_not_denied():
    policy = Policy()
    assert policy.app_allowed(("mousepad",))
    assert not policy.app_allowed(("bitwarden",))


@pytest.mark.parametrize("text, message", [
    ("[apps\nallow=", "not valid TOML"),
    ('[apps]\nallow = "mousepad"\n', "must be a list of strings"),
    ('[appz]\nallow = ["x"]\n', "unknown section"),
])
def test_bad_policy_files_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message):
        _policy(tmp_path, text)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        Policy.load(tmp_path / "nope.toml")
