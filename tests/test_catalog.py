"""The collector catalog's contract, run against both implementations: SQLite (the embedded
default) and PostgreSQL (a private cluster started by the test). Two catalog objects on one
store stand for two collector replicas: each has its own connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from workprint.server.catalog import CollectorCatalog, Entry, Refused, open_catalog

Factory = Callable[[], CollectorCatalog]


@pytest.fixture(params=["sqlite", "postgresql"])
def replicas(request, tmp_path: Path) -> Factory:
    """Opens another replica's catalog on the same store (and the same --data secrets)."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    opened: list[CollectorCatalog] = []

    def open_one() -> CollectorCatalog:
        catalog = open_catalog(tmp_path / "data", url)
        opened.append(catalog)
        return catalog

    yield open_one
    for catalog in opened:
        catalog.close()


def test_sessions_blobs_and_erasure(replicas: Factory) -> None:
    catalog = replicas()
    with catalog.transaction() as tx:
        assert tx.add_blob("a" * 64, "p-1", 10)
        assert not tx.add_blob("a" * 64, "p-1", 10), "a second upload of the same bytes is not a new blob"
        tx.add_blob("b" * 64, "p-2", 10)
        assert tx.missing_blobs("p-1", ["a" * 64, "b" * 64]) == ["b" * 64], "another device's blob counts as missing"
        assert tx.put_session("s1", "p-1", '{"frames": {}}', ["a" * 64]) == []
        tx.audit(Entry("p-1", "contributor", "upload session", "s1", "stored"))
    with catalog.read() as r:
        assert r.session("s1") == ("p-1", '{"frames": {}}', False)
        assert r.blob_readable("a" * 64, "trainer")
    with catalog.transaction() as tx:
        tx.quarantine("s1")
    with catalog.read() as r:
        assert not r.blob_readable("a" * 64, "trainer") and r.blob_readable("a" * 64, "curator")
        assert r.training_sessions() == []
    with catalog.transaction() as tx:
        sessions, _, gone = tx.erase("p-1")
        tx.audit(Entry("p-1", "contributor", "erase", "p-1", f"{sessions} sessions"))
    assert (sessions, gone) == (1, ["a" * 64]), "the erased person's frame no other device holds must go"
    with catalog.read() as r:
        assert r.session("s1") is None and r.is_tombstoned("s1")
        assert r.sessions(None) == []
    assert catalog.verify_audit()[:2] == (True, 2)


def test_refusal_keeps_its_audit_entry_and_an_error_rolls_back(replicas: Factory) -> None:
    catalog = replicas()
    with pytest.raises(Refused), catalog.transaction() as tx:
        tx.audit(Entry("x", "contributor", "upload session", "s", "refused"))
        raise Refused(403, "no")
    with pytest.raises(RuntimeError), catalog.transaction() as tx:
        tx.set_setting("k", "v")
        tx.audit(Entry("x", "admin", "set", "k", "ok"))
        raise RuntimeError("crash mid-request")
    with catalog.read() as r:
        assert r.setting("k") is None, "a failed request leaves nothing behind"
    assert [e["outcome"] for e in catalog.audit_entries()] == ["refused"]
    assert catalog.verify_audit()[0]


def test_audit_chain_stays_one_chain_with_two_replicas_appending(replicas: Factory) -> None:
    a, b = replicas(), replicas()

    def append(catalog: CollectorCatalog, who: str) -> None:
        for i in range(40):
            catalog.audit(Entry(who, "contributor", "upload blob", str(i), "stored"))

    threads = [threading.Thread(target=append, args=(c, f"p-{n}")) for n, c in enumerate((a, b, a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    intact, count, problem = a.verify_audit()
    assert (intact, count, problem) == (True, 160, "")
    entries = b.audit_entries(limit=1000)
    assert [e["seq"] for e in entries] == list(range(1, 161))
    assert all(e["prev"] == p["hash"] for p, e in zip(entries, entries[1:])), "each entry follows the one before"


def test_enrolment_code_is_single_use_across_replicas(replicas: Factory) -> None:
    catalogs = [replicas(), replicas()]
    with catalogs[0].transaction() as tx:
        tx.add_enrolment_code("code-hash", expires=4e9)
    barrier = threading.Barrier(8)

    def redeem(i: int) -> str:
        barrier.wait()
        with catalogs[i % 2].transaction() as tx:
            return tx.redeem_enrolment_code("code-hash", now=1e9)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(redeem, range(8)))
    assert sorted(results) == ["already used"] * 7 + ["ok"]


def test_first_admin_is_made_once_and_retention_runs_once_per_period(replicas: Factory) -> None:
    catalogs = [replicas() for _ in range(3)]
    barrier = threading.Barrier(6)

    def start(i: int) -> tuple[bool, bool]:
        barrier.wait()
        catalog = catalogs[i % 3]
        made = False
        with catalog.transaction() as tx:
            if not tx.has_admin():
                tx.add_token(f"hash-{i}", "admin", "admin-1", None)
                made = True
        return made, catalog.once_per("retention", 3600)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(start, range(6)))
    assert sum(made for made, _ in results) == 1, "exactly one replica makes the first admin token"
    assert sum(ran for _, ran in results) == 1, "exactly one replica runs retention in the period"
    assert not catalogs[0].once_per("retention", 3600)
    assert catalogs[0].once_per("retention", 0), "a new period runs again"


def test_an_erasure_sent_to_two_replicas_at_once_runs_once(replicas: Factory) -> None:
    catalogs = [replicas(), replicas()]
    with catalogs[0].transaction() as tx:
        for n in range(5):
            digest = f"{n}" * 64
            tx.add_blob(digest, "p-1", 10)
            tx.put_session(f"s{n}", "p-1", "{}", [digest])
        tx.add_token("device", "contributor", "p-1", None)
    barrier = threading.Barrier(4)

    def erase(i: int) -> tuple[int, int, list[str]]:
        barrier.wait()
        with catalogs[i % 2].transaction() as tx:
            return tx.erase("p-1")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(erase, range(4)))
    assert sum(sessions for sessions, _, _ in results) == 5, "each session is erased once"
    assert sum(tokens for _, tokens, _ in results) == 1
    gone = [d for _, _, digests in results for d in digests]
    assert sorted(gone) == [f"{n}" * 64 for n in range(5)], "each frame's bytes are unlinked by one replica only"


def test_consent_on_record(replicas: Factory) -> None:
    catalog = replicas()
    with catalog.transaction() as tx:
        tx.accept_consent("c1", "p-1", 1, "n" * 64, "q" * 64, "2026-01-01T00:00:00Z")
        tx.put_session("s1", "p-1", "{}", [])
        tx.link_session_consent("s1", "c1")
    with catalog.read() as r:
        assert r.current_consent("p-1") == "c1"
        assert r.consent_by_session() == [("s1", 1, "q" * 64, None)]
    with catalog.transaction() as tx:
        assert tx.withdraw_consent("p-1") == 1
    with catalog.read() as r:
        assert r.current_consent("p-1") is None


def test_postgres_migrations_apply_once(postgres) -> None:  # noqa: F811
    from workprint.server.catalog.postgres import MIGRATIONS, PostgresCatalog

    url = postgres.new_database()
    key = "k" * 64
    with ThreadPoolExecutor(3) as pool:  # three replicas starting at once
        catalogs = list(pool.map(lambda _: PostgresCatalog(url, key, Path("/dev/null")), range(3)))
    try:
        with catalogs[0]._reader() as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
        assert versions == list(range(1, len(MIGRATIONS) + 1))
        assert catalogs[2].migrate() == len(MIGRATIONS)
    finally:
        for c in catalogs:
            c.close()


def test_sqlite_migrations_apply_once_and_bring_an_unnumbered_catalog_up(tmp_path: Path) -> None:
    import sqlite3

    from workprint.server.catalog.sqlite import MIGRATIONS, SqliteCatalog

    key = "k" * 64
    path = tmp_path / "catalog.sqlite"
    with ThreadPoolExecutor(3) as pool:  # three collector processes starting at once
        catalogs = list(pool.map(lambda _: SqliteCatalog(path, key, tmp_path / "anchor"), range(3)))
    for c in catalogs:
        c.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()

    old = tmp_path / "old.sqlite"  # a catalog from before numbered migrations: first-release tables, a token
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, created REAL)")
    db.execute("INSERT INTO tokens VALUES ('h', 'admin', 'admin-1', 0)")
    db.commit()
    db.close()
    catalog = SqliteCatalog(old, key, tmp_path / "old-anchor")
    with catalog.read() as r:
        assert r.token("h", 1.0) == ("admin", "admin-1"), "the old row is kept, with the columns added since"
        assert r._q("PRAGMA user_version")[0][0] == len(MIGRATIONS)
    assert catalog.migrate() == len(MIGRATIONS)
    catalog.close()


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    from tests.servers import free_port

    from workprint.server.catalog.postgres import PostgresCatalog

    with pytest.raises(ConnectionError, match="cannot reach the PostgreSQL catalog") as caught:
        PostgresCatalog(f"postgresql://postgres:secretpw@127.0.0.1:{free_port()}/x?connect_timeout=2", "k", tmp_path / "a")
    assert "secretpw" not in str(caught.value), "the password is not repeated in the message"
