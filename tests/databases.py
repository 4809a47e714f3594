"""Extra PostgreSQL databases for tests that need a whole database of their own."""

from contextlib import contextmanager

import sqlalchemy as sa

from booking.config import normalise_database_url
from tests.conftest import TEST_DATABASE_URL


@contextmanager
def extra_postgres_database(suffix):
    """A brand-new database named after TEST_DATABASE_URL's plus `_suffix` (so parallel runs on
    other test databases never clash); yields its URL and drops it afterwards."""
    url = sa.engine.make_url(normalise_database_url(TEST_DATABASE_URL))
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
