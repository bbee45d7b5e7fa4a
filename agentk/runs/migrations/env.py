"""Alembic environment: migrations run on the connection :func:`agentk.runs.schema.upgrade` hands over.

``alembic`` on the command line works too (``alembic -c agentk/runs/migrations/alembic.ini upgrade head`` with
``AGENTK_DATABASE_URL`` set), for operators who prefer to migrate before they deploy.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from agentk.runs.schema import VERSION_TABLE
from agentk.runs.store import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,  # Optuna keeps its own ``alembic_version`` in the same database
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from agentk.config import get_settings

    url = config.get_main_option("sqlalchemy.url") or os.environ.get("AGENTK_DATABASE_URL")
    engine = create_engine(url or get_settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
