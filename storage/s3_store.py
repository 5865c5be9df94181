"""The S3 object store: AWS, MinIO, moto's server or any S3-compatible endpoint."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from storage.errors import ConfigError
from storage.objects import PREVIEW_TAG, ObjectInfo, StorageError, StoredObject, sha256_file

MAX_ATTEMPTS = 5
# Multipart above 16 MB, 8 parts in flight: large finals upload in parallel.
MULTIPART_THRESHOLD = 16 * 2**20
TRANSFER = TransferConfig(
    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=16 * 2**20, max_concurrency=10
)
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class S3Store:
    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        path_style: bool = False,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.max_attempts = max_attempts
        config = Config(
            region_name=region,
            # standard mode: retries with backoff on throttling, 5xx and dropped connections
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def check(self) -> None:
        where = self.endpoint_url or "AWS"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError as exc:
            raise ConfigError(
                "AWS_ACCESS_KEY_ID", "no S3 credentials found (set AWS_ACCESS_KEY_ID/SECRET)"
            ) from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                problem = f"bucket {self.bucket!r} does not exist at {where}"
            else:
                problem = f"bucket {self.bucket!r} at {where} refused access ({code})"
            raise ConfigError("ADREEL_S3_BUCKET", problem) from exc
        except BotoCoreError as exc:
            raise ConfigError("ADREEL_S3_ENDPOINT_URL", f"cannot reach {where}: {exc}") from exc

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        metadata: dict[str, str] | None = None,
        download_name: str | None = None,
        expires: bool = False,
        sha256: str | None = None,
    ) -> StoredObject:
        extra = {"ContentType": content_type, "Metadata": metadata or {}}
        if sha256 and path.stat().st_size < MULTIPART_THRESHOLD:
            # The digest we already have: S3 checks the bytes it received against it,
            # end to end, and the file is not hashed again on the way out.
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode()
        else:
            extra["ChecksumAlgorithm"] = "SHA256"  # computed per part; S3 verifies each
        if download_name:
            extra["ContentDisposition"] = f'attachment; filename="{download_name}"'
        if expires:
            extra["Tagging"] = f"{PREVIEW_TAG[0]}={PREVIEW_TAG[1]}"
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=TRANSFER)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise StorageError(
                f"upload of {key} failed after {self.max_attempts} attempts: {exc}"
            ) from exc
        return StoredObject(key, path.stat().st_size, sha256 or sha256_file(path), content_type)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise StorageError(f"checking {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"checking {key} failed after {self.max_attempts} attempts: {exc}"
            ) from exc
        return True

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def download(self, key: str, target: Path) -> None:
        try:
            self.client.download_file(self.bucket, key, str(target), Config=TRANSFER)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot download {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"], item["Size"], item["LastModified"])

    def url(self, key: str, expires_s: int, download_name: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def init(self, preview_days: int) -> list[str]:
        """Create the bucket if it is missing; add the rule that expires previews."""
        done = []
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)
            done.append(f"created bucket {self.bucket}")
        rule = {
            "ID": "adreel-previews-expire",
            "Status": "Enabled",
            "Filter": {"Tag": {"Key": PREVIEW_TAG[0], "Value": PREVIEW_TAG[1]}},
            "Expiration": {"Days": preview_days},
        }
        try:
            self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": [rule]}
            )
            done.append(f"previews expire after {preview_days} days; finals are kept")
        except ClientError as exc:
            done.append(f"this store refused a lifecycle rule ({exc}); previews are kept")
        self.check()
        return done
