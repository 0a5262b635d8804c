"""Frame blobs behind one interface: a local folder (the embedded default) or an S3 API bucket
(object storage shared by several collector replicas). Content-addressed by SHA-256, so a write
is idempotent, and every put checks that the bytes hash to the name they are stored under."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from workprint.files import atomic_write, private_dir
from workprint.errors import WorkprintError


class BlobStore(Protocol):
    url: str

    def has(self, digest: str) -> bool: ...
    def put(self, digest: str, data: bytes) -> bool: ...
    def get(self, digest: str) -> bytes: ...
    def delete(self, digest: str) -> None: ...


class BlobURLError(WorkprintError, ValueError):
    """A --blobs URL this collector cannot use; the message says what to give instead."""


class DamagedBlob(WorkprintError, ValueError):
    """Bytes that do not hash to their name: refused on put, never served on get."""


def _check(digest: str, data: bytes, what: str = "store") -> None:
    if hashlib.sha256(data).hexdigest() != digest:
        raise DamagedBlob(f"refusing to {what} {len(data)} bytes as {digest}: they hash to something else")


class LocalBlobStore:
    """Content-addressed files: ``blobs/ab/abcdef...``, 0600 in 0700 folders; writes are atomic."""

    def __init__(self, root: Path):
        self.root = private_dir(root, narrow=True)
        self.url = f"file://{self.root}"

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self._path(digest).exists()

    def put(self, digest: str, data: bytes) -> bool:
        _check(digest, data)
        path = self._path(digest)
        if path.exists():
            return False
        atomic_write(path, data)
        return True

    def get(self, digest: str) -> bytes:
        data = self._path(digest).read_bytes()
        _check(digest, data, "serve")
        return data

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)


class S3BlobStore:
    """Objects ``PREFIX/ab/abcdef...`` in an S3 API bucket, through boto3. A put sends the SHA-256
    as the object's checksum, so the store itself refuses bytes damaged on the way."""

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" + (f"?endpoint={endpoint}" if endpoint else "")
        self._s3 = boto3.client("s3", endpoint_url=endpoint,
                                region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                                config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                              s3={"addressing_style": "path"},
                                              max_pool_connections=32))

    def _key(self, digest: str) -> str:
        return f"{self.prefix}/{digest[:2]}/{digest}" if self.prefix else f"{digest[:2]}/{digest}"

    def ensure_bucket(self) -> None:
        """Creates the bucket when absent (a test or a first start); an existing one is kept."""
        from botocore.exceptions import ClientError

        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._s3.create_bucket(Bucket=self.bucket)

    def has(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self.bucket, Key=self._key(digest))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def put(self, digest: str, data: bytes) -> bool:
        _check(digest, data)
        if self.has(digest):
            return False
        checksum = base64.b64encode(bytes.fromhex(digest)).decode()
        self._s3.put_object(Bucket=self.bucket, Key=self._key(digest), Body=data, ChecksumSHA256=checksum)
        return True

    def get(self, digest: str) -> bytes:
        body = self._s3.get_object(Bucket=self.bucket, Key=self._key(digest))["Body"].read()
        _check(digest, body, "serve")
        return body

    def delete(self, digest: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(digest))

    def keys(self) -> list[str]:
        """Every digest stored under the prefix (for operators and tests)."""
        out = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                       Prefix=self.prefix + "/" if self.prefix else ""):
            out += [obj["Key"].rsplit("/", 1)[-1] for obj in page.get("Contents", [])]
        return out


def open_blobs(data_dir: Path, url: str | None = None) -> BlobStore:
    """The blob store a --blobs URL names: ``file:///PATH`` (default ``DIR/blobs``) or
    ``s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT`` (credentials from AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY)."""
    if not url:
        return LocalBlobStore(data_dir / "blobs")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise BlobURLError(f"--blobs {url!r} names no bucket: give s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT")
        query = parse_qs(parsed.query)
        endpoint, region = (query.get(k, [None])[0] for k in ("endpoint", "region"))
        store = S3BlobStore(parsed.netloc, parsed.path, endpoint, region)
        store.ensure_bucket()
        return store
    raise BlobURLError(f"--blobs {url!r}: give file:///PATH or s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT")


__all__ = ["BlobStore", "BlobURLError", "DamagedBlob", "LocalBlobStore", "S3BlobStore", "open_blobs"]
