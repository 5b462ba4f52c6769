"""Alembic migrations of the application state in PostgreSQL (:class:`wandel.store.pg_state.PgState`).

One file per schema version in ``versions/`` (revision ``"0001"`` is version 1, ...); they are run
by :func:`wandel.store.pg_state.PgState` itself, without an ``alembic.ini`` or ``env.py``.
"""
