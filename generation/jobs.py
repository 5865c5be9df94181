"""Render jobs: one row per render request hash, so a request is rendered once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from generation.queries import query


def plan_render_job(conn: psycopg.Connection, job: Mapping[str, Any]) -> bool:
    """Record a job; True when it is new, False when the same request was planned before."""
    row = conn.execute(query("plan_render_job"), {**job, "spec": Jsonb(job["spec"])}).fetchone()
    return row is not None


def get_render_jobs(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(query("get_render_jobs"), {"request_hashes": request_hashes}).fetchall()


def mark_render_jobs(
    conn: psycopg.Connection,
    request_hashes: list[str],
    status: str,
    error: str | None = None,
    warning: str | None = None,
) -> None:
    """``warning``: what a render that succeeded lacked (its product image); each status
    change replaces the last attempt's."""
    params = {"request_hashes": request_hashes, "status": status, "error": error}
    conn.execute(query("mark_render_jobs"), {**params, "warning": warning})


def count_by_status(conn: psycopg.Connection, request_hashes: list[str]) -> dict[str, int]:
    rows = conn.execute(query("count_render_jobs_by_status"), {"request_hashes": request_hashes})
    return {row["status"]: row["jobs"] for row in rows}


def failed_errors(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(
        query("failed_render_errors"), {"request_hashes": request_hashes}
    ).fetchall()


def pending_render_jobs(conn: psycopg.Connection, request_hashes: list[str]) -> list[str]:
    """The jobs among ``request_hashes`` not yet done, in the order given."""
    rows = conn.execute(query("pending_render_jobs"), {"request_hashes": request_hashes})
    pending = {row["request_hash"] for row in rows}
    return [h for h in request_hashes if h in pending]


def record_usage(conn: psycopg.Connection, usage: Mapping[str, Any]) -> None:
    conn.execute(query("record_usage"), dict(usage))


def usage_for_renders(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict]:
    return conn.execute(query("usage_for_renders"), {"request_hashes": request_hashes}).fetchall()
