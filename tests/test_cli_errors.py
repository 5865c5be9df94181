"""A bad setting ends a command with one line naming it, exit status 1, no traceback."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_adreel


def assert_one_line_naming(result, setting: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0] and "Traceback" not in result.stderr


def test_unreachable_database(adreel_env):
    env = {**adreel_env, "ADREEL_DATABASE_URL": "postgresql://adreel@127.0.0.1:1/none"}
    assert_one_line_naming(run_adreel("db", "migrate", env=env), "ADREEL_DATABASE_URL")


def test_missing_bucket(adreel_env):
    env = {**adreel_env, "ADREEL_S3_BUCKET": "no-such-bucket"}
    result = run_adreel("assets", "list", "--merchant", "m", env=env)
    assert_one_line_naming(result, "ADREEL_S3_BUCKET")


@pytest.mark.parametrize("command", [["worker"], ["demo", "--limit", "1"]])
def test_unreachable_broker(adreel_env, command):
    env = {**adreel_env, "ADREEL_BROKER_URL": "redis://127.0.0.1:1/0"}
    assert_one_line_naming(run_adreel(*command, env=env), "ADREEL_BROKER_URL")


def test_worker_without_a_broker(adreel_env):
    assert_one_line_naming(run_adreel("worker", env=adreel_env), "ADREEL_BROKER_URL")


def test_model_path_that_does_not_exist(adreel_env, tmp_path):
    env = {**adreel_env, "ADREEL_MODEL": str(tmp_path / "missing-model")}
    assert_one_line_naming(run_adreel("demo", "--limit", "1", env=env), "ADREEL_MODEL")


def test_worker_with_a_model_directory_missing_files(adreel_env, tmp_path):
    import shutil

    from generation.tiny_model import ensure_tiny_model

    model = tmp_path / "broken-model"
    shutil.copytree(ensure_tiny_model(tmp_path / "home"), model)
    shutil.rmtree(model / "transformer")
    env = {
        **adreel_env,
        "ADREEL_MODEL": str(model),
        "ADREEL_BROKER_URL": "redis://127.0.0.1:6379/13",
    }
    assert_one_line_naming(run_adreel("worker", env=env), "ADREEL_MODEL")
