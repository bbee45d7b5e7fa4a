"""Errors raised by :mod:`memory_store`.

Every error the package raises on purpose derives from :class:`MemoryStoreError`, so a caller can catch
one class. The subclasses also derive from the matching built-in (``LookupError``, ``ValueError``) so
generic code keeps working.
"""

from __future__ import annotations


class MemoryStoreError(Exception):
    """Base class of every error raised by :mod:`memory_store`."""


class ItemNotFoundError(MemoryStoreError, LookupError):
    """One or more item ids do not exist; nothing was changed."""

    def __init__(self, missing: list[str] | tuple[str, ...]) -> None:
        self.missing = tuple(missing)
        shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
        super().__init__(f"memory item(s) not found: {shown}")


class DuplicateItemError(MemoryStoreError, ValueError):
    """An item with the same id already exists; nothing was written."""

    def __init__(self, ids: list[str] | tuple[str, ...]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"memory item(s) already exist: {', '.join(self.ids[:5])}")


class InvalidScopeError(MemoryStoreError, ValueError):
    """A scope path is empty or has an empty or malformed segment."""


class InvalidItemError(MemoryStoreError, ValueError):
    """An item field is malformed (kind, tags, payload, embedding, reward)."""


class EmbeddingMismatchError(MemoryStoreError, ValueError):
    """An embedding's dimension (or the store's embedder) does not match the store."""


class StorageError(MemoryStoreError):
    """The storage layer failed (file, connection, lock timeout); the driver error is the ``__cause__``."""
