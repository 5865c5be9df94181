"""Errors a user can act on, each naming the setting or input to fix."""


class AdreelError(Exception):
    """Base for errors shown to a user as one line, without a traceback."""


class ConfigError(AdreelError):
    """A setting points at something missing or unreachable."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {problem}")


class MigrationError(AdreelError):
    """The database schema cannot be brought up to date."""


class NotFound(AdreelError):
    """The thing asked for does not exist, or belongs to another merchant: both answer
    the same, so ids reveal nothing (the API answers 404)."""
