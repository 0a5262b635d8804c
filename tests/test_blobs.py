"""The blob store's contract, run against both implementations: the local folder (the embedded
default) and an S3 API bucket on a real SeaweedFS started by the test. Frames are named by their
SHA-256: a put is idempotent, and bytes that do not hash to their name never go in or come out."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from workprint.server.blobs import BlobStore, BlobURLError, DamagedBlob, LocalBlobStore, S3BlobStore, open_blobs


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path: Path, monkeypatch) -> BlobStore:
    if request.param == "file":
        return open_blobs(tmp_path / "data")
    s3 = request.getfixturevalue("seaweed")
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return open_blobs(tmp_path / "data", s3.blobs_url())


def frame(n: int = 0) -> tuple[str, bytes]:
    data = os.urandom(4096) + bytes([n])
    return hashlib.sha256(data).hexdigest(), data


def test_put_is_idempotent_and_reads_back(store: BlobStore) -> None:
    digest, data = frame()
    assert not store.has(digest)
    assert store.put(digest, data) is True
    assert store.put(digest, data) is False, "the same bytes again are not stored again"
    assert store.has(digest) and store.get(digest) == data
    store.delete(digest)
    assert not store.has(digest)
    store.delete(digest)  # deleting what is gone is not an error (two replicas may both unlink)


def test_bytes_that_do_not_hash_to_their_name_are_refused(store: BlobStore) -> None:
    digest, data = frame(1)
    with pytest.raises(DamagedBlob, match="refusing to store .* hash to something else"):
        store.put(digest, data[:-1])
    assert not store.has(digest), "nothing was stored under the name"


def test_a_frame_damaged_in_the_store_is_not_served(store: BlobStore) -> None:
    digest, data = frame(2)
    store.put(digest, data)
    damaged = b"\x00" + data[1:]
    if isinstance(store, LocalBlobStore):
        path = store.root / digest[:2] / digest
        path.write_bytes(damaged)
    else:
        assert isinstance(store, S3BlobStore)
        store._s3.put_object(Bucket=store.bucket, Key=store._key(digest), Body=damaged)
    with pytest.raises(DamagedBlob, match="refusing to serve .* hash to something else"):
        store.get(digest)


def test_two_replicas_share_one_bucket(seaweed, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    for key, value in seaweed.env().items():
        monkeypatch.setenv(key, value)
    url = seaweed.blobs_url()
    first, second = open_blobs(tmp_path / "a", url), open_blobs(tmp_path / "b", url)
    digest, data = frame(3)
    assert first.put(digest, data) and not second.put(digest, data), "the other replica sees it stored"
    assert second.get(digest) == data
    assert isinstance(second, S3BlobStore) and second.keys() == [digest]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists(), "nothing written under --data"


def test_bad_blob_urls_say_what_to_give() -> None:
    for url in ("ftp://x/y", "s3:///no-bucket"):
        with pytest.raises(BlobURLError, match=r"s3://BUCKET"):
            open_blobs(Path("/nonexistent"), url)
