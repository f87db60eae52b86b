"""Every domain error of envctl, and the exit codes of the contract.

The CLI is the one place that turns an :class:`EnvctlError` into a message on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    LOCKED = 3
    SCRIPT_FAILED = 4
    LEFTOVERS = 5
    INCOMPLETE = 6  # the check could not run completely and found nothing it can name
    INTERRUPTED = 130


class EnvctlError(Exception):
    """Base of every error envctl reports to a user. ``str(err)`` is the whole message."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  {self.hint}"


class ConfigError(EnvctlError):
    """env.yaml or a component folder is wrong. Names the file and the key or line."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, file: object, message: str, *, key: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        where = str(file)
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {message}", hint=hint)
        self.file = str(file)
        self.key = key
        self.line = line


class UsageError(EnvctlError):
    """The command line asks for something that cannot be done (unknown environment, several up, ...)."""

    exit_code = ExitCode.BAD_INPUT


class RootNotFoundError(UsageError):
    pass


class EnvironmentNotFoundError(UsageError):
    pass


class RefusedError(UsageError):
    """envctl refused to start: no confirmation, lint errors, review gate, wrong account."""


class AccountMismatchError(RefusedError):
    pass


class LockedError(EnvctlError):
    """Another run holds the environment's lock."""

    exit_code = ExitCode.LOCKED


class StateError(EnvctlError):
    """The state file is unreadable or from a newer envctl."""

    exit_code = ExitCode.BAD_INPUT


class SandboxError(EnvctlError):
    """The embedded AWS sandbox could not be started or reached."""

    exit_code = ExitCode.BAD_INPUT
