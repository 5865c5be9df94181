"""bench storage: upload many medium files and a few large ones to S3 (moto's server on
loopback) through adreel's store, and in the same run through a bare boto3
``upload_file`` with default settings. Same files, same server, interleaved per file."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

import boto3
import click
from moto.server import ThreadedMotoServer

from flows.progress import progress_bars, tracker
from storage.objects import sha256_file
from storage.s3_store import S3Store

BUCKET = "bench"


@click.command()
@click.option("--small", default=200, show_default=True, help="Number of medium files.")
@click.option("--small-mb", default=5, show_default=True)
@click.option("--large", default=5, show_default=True, help="Number of large files.")
@click.option("--large-mb", default=200, show_default=True)
def main(small: int, small_mb: int, large: int, large_mb: int) -> dict:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    try:
        with tempfile.TemporaryDirectory(prefix="adreel-bench-") as scratch:
            files = _make_files(Path(scratch), small, small_mb, large, large_mb)
            total_mb = sum(f.stat().st_size for f in files) / 2**20
            store = S3Store(BUCKET, endpoint_url=endpoint, path_style=True)
            # Keys are content addresses: the digest is known before the upload starts.
            digests = {f: sha256_file(f) for f in files}
            with progress_bars(enabled=True):
                seconds, baseline = _interleaved(
                    files,
                    lambda f, key: store.put_file(
                        key, f, "video/mp4", {"merchant": "bench"}, sha256=digests[f]
                    ),
                    lambda f, key: client.upload_file(str(f), BUCKET, key),
                    client,
                )
    finally:
        server.stop()
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(total_mb / seconds, 1),
        "unit": "MB/s",
        "extra": {
            "files": len(files),
            "total_mb": round(total_mb),
            "baseline_mb_per_s": round(total_mb / baseline, 1),
        },
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_files(directory: Path, small: int, small_mb: int, large: int, large_mb: int):
    files = []
    for n, size_mb in enumerate([small_mb] * small + [large_mb] * large):
        path = directory / f"f{n}.bin"
        with open(path, "wb") as handle:
            for _ in range(size_mb):
                handle.write(os.urandom(2**20))
        files.append(path)
    return files


def _interleaved(files: list[Path], ours, bare, client) -> tuple[float, float]:
    """Each file through both paths in turn, so drift in the server hits both alike."""
    advance = tracker("uploading (adreel, then bare boto3, per file)", len(files))
    totals = {"ours": 0.0, "bare": 0.0}
    for n, path in enumerate(files):
        for name, upload in (("ours", ours), ("bare", bare)):
            key = f"{name}/{n}"
            started = time.perf_counter()
            upload(path, key)
            totals[name] += time.perf_counter() - started
            client.delete_object(Bucket=BUCKET, Key=key)  # keep the server's memory flat
        advance(1)
    return totals["ours"], totals["bare"]
