"""Local stack for PARS: single-node Kafka (KRaft), PostgreSQL and an SMTP catcher, no Docker."""

from .smtp import clear_messages, read_messages
from .stack import Stack

__all__ = ["Stack", "clear_messages", "read_messages"]
