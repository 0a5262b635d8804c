"""Text redaction: each kind is removed, task tokens survive, and `workprint redact` works."""

from __future__ import annotations

import pytest

from tests.conftest import workprint
from workprint.privacy.redact import redact

SECRETS = [
    ("email", "write to jane.doe+work@mail.example.co.uk today", "jane.doe+work@mail.example.co.uk"),
    ("phone", "call +44 20 7946 0958 after lunch", "7946 0958"),
    ("phone", "office (555) 123-4567", "123-4567"),
    ("card", "card 4111-1111-1111-1111 exp 12/27", "4111-1111-1111-1111"),
    ("card", "pay with 5555 5555 5555 4444", "5555 5555 5555 4444"),
    ("ssn", "SSN 078-05-1120 on file", "078-05-1120"),
    ("iban", "IBAN GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"),
    ("ip", "ssh to 192.168.10.24 now", "192.168.10.24"),
    ("ip", "v6 2001:db8::8a2e:370:7334 host", "2001:db8::8a2e:370:7334"),
    ("api_key", "AWS AKIAIOSFODNN7EXAMPLE key", "AKIAIOSFODNN7EXAMPLE"),
    ("api_key", "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("api_key", "slack xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl"),
    ("api_key", "stripe sk_live_51HxYzAbCdEfGhIjKlMn", "sk_live_51HxYzAbCdEfGhIjKlMn"),
    ("api_key", "OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl012", "sk-proj-Abc123Def456Ghi789Jkl012"),
    ("jwt", "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-xyz", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-xyz"),
    ("password", "password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("password", "https://alice:s3cr3tP4ss@git.example.com/repo.git", "s3cr3tP4ss"),
    ("api_key", "https://x.example.com/cb?code=abcd1234efgh&state=1", "abcd1234efgh"),
    ("name", "Dear Margaret Hamilton, thanks", "Margaret Hamilton"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
]

KEPT = [
    "Ticket ABC-1234 is due 2026-11-23 at 14:30:00",
    "Release v2.14.1 fixes commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "order #100234887 total $1,249.99 (EUR 1.149,00)",
    "id 123e4567-e89b-12d3-a456-426614174000 version 1.2.3.4",
    "Untitled 1 - Mousepad",
    "dev server on http://127.0.0.1:8000/ and [::1]:8080",
]


@pytest.mark.parametrize("kind, text, secret", SECRETS)
def test_each_kind_is_removed(kind, text, secret):
    result = redact(text)
    assert secret not in result.text
    assert kind in result.kinds


@pytest.mark.parametrize("text", KEPT)
def test_task_tokens_survive(text):
    assert redact(text).text == text


def test_redact_command_filters_lines(env):
    out = workprint("redact", env=env, input="mail bob@example.com\nkeep ABC-12\n").stdout
    assert out == "mail [EMAIL]\nkeep ABC-12\n"


def test_generated_corpus_recall_and_task_tokens():
    """The same corpus bench/redaction.py measures: every kind ≥ 99.5 % recall, ≥ 99 % tokens kept."""
    from collections import Counter

    from workprint.privacy.corpus import generate

    missed, total, kept, keep_total = Counter(), Counter(), 0, 0
    for line in generate(n_per_kind=60, n_negative=120, seed=11):
        out = redact(line.text).text
        for kind, value in line.secrets:
            total[kind] += 1
            missed[kind] += value in out
        keep_total += len(line.keep)
        kept += sum(token in out for token in line.keep)
    for kind in total:
        assert 1 - missed[kind] / total[kind] >= 0.995, kind
    assert kept / keep_total >= 0.99
