"""One exception tree for the whole package, rooted at TriageError."""

from __future__ import annotations


class TriageError(Exception):
    """Base of every error triage raises on purpose."""


class ConfigError(TriageError):
    """The configuration is wrong; the message names the key, file and line."""


class StoreError(TriageError):
    """The store cannot be used (unknown schema, unreachable database)."""


class SecretError(TriageError):
    """A secret (password, token, key) could not be read."""


class SourceError(TriageError):
    """A mailbox could not be read. `transient` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class AuthError(SourceError):
    """The server refused the credentials; retrying soon will not help."""

    def __init__(self, message: str, *, reauthorise: bool = False) -> None:
        super().__init__(message, transient=False)
        # True when an OAuth2 token was refused: an administrator must re-authorise.
        self.reauthorise = reauthorise


class FolderError(SourceError):
    """A folder is missing or cannot be selected."""
