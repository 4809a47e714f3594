"""extensions.DriverRead: the busiest page's one read, run on the driver's cursor."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from booking.extensions import DriverRead

metadata = sa.MetaData()
things = sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))
READ = DriverRead(sa.select(things.c.name, sa.literal(7)).where(things.c.id == sa.bindparam("thing_id")))


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/read.sqlite")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(things.insert(), [{"id": 1, "name": "first"}, {"id": 2, "name": "second"}])
    yield engine
    engine.dispose()


def test_reads_the_row_with_the_statements_own_literals_and_returns_the_connection(engine):
    assert READ.first(engine, thing_id=2) == ("second", 7)
    assert READ.first(engine, thing_id=3) is None
    assert engine.pool.checkedout() == 0


def test_a_driver_error_is_sqlalchemys_own_and_the_connection_goes_back_to_the_pool(engine):
    things.drop(engine)
    with pytest.raises(OperationalError, match="no such table"):
        READ.first(engine, thing_id=1)
    assert engine.pool.checkedout() == 0


def test_statement_listeners_see_the_read(engine):
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    assert READ.first(engine, thing_id=1) == ("first", 7)
    assert len(seen) == 1 and "FROM things" in seen[0]
    assert engine.pool.checkedout() == 0
