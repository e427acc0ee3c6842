"""Mail sources: where RawMessages come from (IMAP, Maildir).

Every source speaks the same small protocol, so the worker does not care which
one it reads. Keys are strings: the decimal UID for IMAP, the unique file name
for Maildir.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from triage.values import RawMessage


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int  # 0 for sources without UIDs (Maildir)
    exists: int  # messages in the folder now
    uidnext: int | None = None


class MailSource(Protocol):
    """What the worker needs of a mailbox."""

    name: str

    def connect(self) -> None:
        """Open (or re-open) the connection; raise AuthError or SourceError."""

    def close(self) -> None:
        """Close quietly; never raises."""

    def select(self, folder: str) -> FolderStatus:
        """Open a folder read-only and report its UIDVALIDITY; FolderError if missing."""

    def search_after(self, folder: str, last_uid: int) -> list[str]:
        """Keys of the messages after the checkpoint, oldest first.

        IMAP: `UID SEARCH UID last+1:*` with UIDs <= last_uid dropped. Maildir:
        every key in the folder (its checkpoint is the set of recorded keys).
        """

    def fetch(self, folder: str, keys: Sequence[str]) -> Iterator[RawMessage]:
        """The raw bytes of those messages, without changing any flag.

        A key that vanished meanwhile is skipped. Raises SourceError when the
        connection fails part way; what was yielded before stays valid.
        """
