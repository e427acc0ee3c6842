"""Maildir source (stdlib `mailbox`): the embedded default and local delivery.

Maildir has no UIDs. A message's identity is its unique file name before
``:2,``; a mail client moving it from new/ to cur/ or renaming it with new
flags keeps that name, so it is not recorded again. This source only reads: it
never moves, renames or flags a file.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from triage.errors import FolderError, SourceError
from triage.sources import FolderStatus
from triage.values import RawMessage


class MaildirSource:
    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path)
        self._folders: dict[str, mailbox.Maildir] = {}

    def connect(self) -> None:
        if not (self.path / "cur").is_dir() or not (self.path / "new").is_dir():
            raise SourceError(f"mailbox {self.name}: {self.path} is not a Maildir (no cur/ and new/)",
                              transient=False)
        self._folders.clear()

    def close(self) -> None:
        self._folders.clear()

    def _folder(self, folder: str) -> mailbox.Maildir:
        md = self._folders.get(folder)
        if md is None:
            root = mailbox.Maildir(self.path, factory=None, create=False)
            if folder.upper() == "INBOX":
                md = root
            else:
                try:
                    md = root.get_folder(folder)  # Maildir++: .Junk beside cur/new/tmp
                except mailbox.NoSuchMailboxError:
                    raise FolderError(f"mailbox {self.name}: no folder {folder!r}", transient=False) from None
            self._folders[folder] = md
        return md

    def select(self, folder: str) -> FolderStatus:
        md = self._folder(folder)
        try:
            return FolderStatus(uidvalidity=0, exists=len(md.keys()))
        except OSError as exc:
            raise SourceError(f"mailbox {self.name}: cannot list {folder!r}: {exc.strerror}") from None

    def search_after(self, folder: str, last_uid: int) -> list[str]:
        # Names start with the delivery time in seconds, so sorting them is delivery order.
        return sorted(self._folder(folder).keys())

    def fetch(self, folder: str, keys: Sequence[str]) -> Iterator[RawMessage]:
        md = self._folder(folder)
        for key in keys:
            try:
                raw = md.get_bytes(key)
            except KeyError:
                continue  # deleted by the clinician meanwhile
            except OSError as exc:
                raise SourceError(f"mailbox {self.name}: cannot read a message: {exc.strerror}") from None
            yield RawMessage(self.name, folder, 0, key, raw, _delivered_at(key))


def _delivered_at(key: str) -> datetime | None:
    head = key.split(".", 1)[0]
    return datetime.fromtimestamp(int(head), UTC) if head.isdigit() else None
