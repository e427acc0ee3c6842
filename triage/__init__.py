"""triage: watches clinicians' mailboxes and flags mail under the secure-email standards."""

__version__ = "0.1.0"
