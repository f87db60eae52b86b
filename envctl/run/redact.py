"""Secret redaction for everything a script prints: log files, the live display, history and reports.

One :class:`Redactor` per run. Every output line goes through :meth:`Redactor.feed` before it is written
anywhere. It masks as ``***``:

- any value a script declares secret with a ``::add-mask::VALUE`` line (as in GitHub Actions), from that line
  on, in every component's output of the run; the declaring line itself is shown as ``::add-mask::***``;
- values shaped like AWS access key ids (``AKIA``/``ASIA`` + 16), secret access keys (40 characters after a
  secret-key name), session tokens (after ``aws_session_token`` / ``SessionToken``), and the value of
  password options and ``*PASSWORD*=`` assignments;
- the values given at construction (``known_secrets``): typically the caller's environment variables whose
  names look secret (see :func:`secret_env_values`), and the masked outputs an earlier run recorded.

Outputs (``KEY=VALUE`` lines in ``$ENVCTL_OUTPUT``) are judged by the same rules: an output whose line would be
masked in a log is recorded as masked (:meth:`Redactor.masked_keys`), and every renderer shows it as ``***``
(:func:`mask_outputs`). The value itself is kept, so dependents still receive it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

MASK = "***"
ADD_MASK = "::add-mask::"

_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_SEP = r"[\"']?(?:\s*[:=]\s*|\s+)[\"']?"
_SECRET_KEY = re.compile(r"((?:aws_?)?secret_?(?:access_?)?key" + _SEP + r")"
                         r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", re.IGNORECASE)
_SESSION_TOKEN = re.compile(r"((?:aws_)?(?:session|security)_?token" + _SEP + r")[A-Za-z0-9/+=]{16,}",
                            re.IGNORECASE)
_PASSWORD = re.compile(r"(--[\w-]*password(?:=|\s+)[\"']?|\b\w*PASSWORD\w*=[\"']?)([^\s\"']+)",
                       re.IGNORECASE)
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIAL|API_KEY", re.IGNORECASE)

#: Environment values shorter than this are not masked: "testing" (moto's dummy credentials) or "1" would
#: otherwise blank out ordinary words all over the logs.
MIN_ENV_SECRET = 8


def secret_env_values(environ: Mapping[str, str], *, min_length: int = MIN_ENV_SECRET) -> list[str]:
    """The values of the variables in ``environ`` whose names look secret (PASSWORD, SECRET, TOKEN, ...)."""
    return [value for name, value in environ.items()
            if _SECRET_NAME.search(name) and len(value) >= min_length]


class Redactor:
    """Masks secrets in output lines. Thread-safe: one instance serves every script of a run."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        for value in known_secrets:
            self.add_secret(value)

    def add_secret(self, value: str) -> None:
        """Mask ``value`` (stripped) wherever it appears from now on. Empty values are ignored."""
        value = value.strip()
        if not value:
            return
        with self._lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
            # Longest first, so a secret that contains another is masked whole.
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    @property
    def secrets_count(self) -> int:
        with self._lock:
            return len(self._secrets)

    def feed(self, line: str) -> str:
        """One output line (with or without its newline), masked."""
        index = line.find(ADD_MASK)
        if index >= 0:
            value = line[index + len(ADD_MASK):].rstrip("\r\n")
            self.add_secret(value)
            ending = line[len(line.rstrip("\r\n")):]
            return self._mask(line[:index]) + ADD_MASK + MASK + ending
        return self._mask(line)

    def hides(self, text: str) -> bool:
        """Whether masking changes ``text``: it holds a secret this redactor knows or recognises."""
        return self._mask(text) != text

    def masked_keys(self, outputs: Mapping[str, str]) -> list[str]:
        """The outputs that must never be shown: those whose ``KEY=VALUE`` line a log would mask."""
        return sorted(key for key, value in outputs.items() if self.hides(f"{key}={value}"))

    def redact(self, text: str) -> str:
        """A whole text (a report, a history record's strings), line by line, ``::add-mask::`` included."""
        return "".join(self.feed(line) for line in text.splitlines(keepends=True))

    def _mask(self, text: str) -> str:
        with self._lock:
            ordered = self._ordered
        for secret in ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _ACCESS_KEY_ID.sub(MASK, text)
        text = _SECRET_KEY.sub(lambda m: m.group(1) + MASK, text)
        text = _SESSION_TOKEN.sub(lambda m: m.group(1) + MASK, text)
        return _PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def mask_outputs(outputs: Mapping[str, str], masked: Iterable[str]) -> dict[str, str]:
    """``outputs`` as shown to a person or written to JSON: each masked one as ``***``, whole."""
    hidden = set(masked)
    return {key: MASK if key in hidden else value for key, value in outputs.items()}


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret the patterns recognise (and ``known_secrets``) masked."""
    return Redactor(known_secrets).redact(text)
