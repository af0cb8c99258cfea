"""Errors of backup and recovery (messages are shown to the person on call as they are)."""


class RecoveryError(Exception):
    """A backup, restore or failover step could not be done; the message says which and why."""
