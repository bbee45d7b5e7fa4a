"""The Optuna storage of the runs' searches, made ready once per executor."""

from __future__ import annotations


def prepare_study_storage(url: str | None) -> None:
    """Create Optuna's tables at ``url`` (if missing) before any run's search opens it.

    Optuna creates its tables when a storage is first opened; many processes doing so at once on an empty
    PostgreSQL database can collide, so each executor does it once on start. None (in memory): nothing to do.
    """
    if url is None:
        return
    import optuna  # only where a shared storage is configured

    storage = optuna.storages.RDBStorage(url)
    storage.remove_session()
    storage.engine.dispose()
