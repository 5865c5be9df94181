"""The campaign tasks' retry policy, run on Prefect's local API: a database fault is
retried with backoff, a user's mistake fails at once."""

from __future__ import annotations

import psycopg
import pytest

from flows.services import configure_prefect
from storage.settings import get_settings


def test_transient_faults_are_retried_and_mistakes_are_not(adreel_env):
    configure_prefect(get_settings())  # before Prefect is imported
    from prefect import flow, task

    from flows.campaign_flow import RETRIES

    calls = {"flaky": 0, "mistake": 0}
    policy = {**RETRIES, "retry_delay_seconds": 0}

    @task(**policy)
    def flaky() -> str:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return "done"

    @task(**policy)
    def mistake() -> None:
        calls["mistake"] += 1
        raise ValueError("campaign file names an unknown product")

    @flow
    def both() -> str:
        result = flaky()
        with pytest.raises(ValueError):
            mistake()
        return result

    assert both() == "done"
    assert calls == {"flaky": 3, "mistake": 1}
