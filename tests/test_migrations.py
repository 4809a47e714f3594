"""The schema comes from migrations only, and the migrations build exactly what the models say."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from booking import create_app
from booking.extensions import db
from tests.conftest import base_test_config, postgres_only, scratch_postgres_database


# Expression indexes alembic cannot compare as text: PostgreSQL gives a CASE back spread over
# lines, which alembic's normalisation keeps, so it reports a difference that is not one (on
# SQLite alembic skips expression indexes itself). Each is checked by the plan of the query it
# serves, on the migrated database, in the tests below.
PLAN_CHECKED_INDEXES = {"ix_intake_queue_order"}


def _compared(_object, name, type_, _reflected, _compare_to):
    return not (type_ == "index" and name in PLAN_CHECKED_INDEXES)


def schema_differences(app):
    """What autogenerate would still change: empty when migrations and models agree."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _compared})
        return compare_metadata(context, db.metadata)


def assert_queue_order_index_serves_the_queue(app):
    """The migrated ix_intake_queue_order is the queue's order: its first page is read, not sorted
    (with intakes in the table: SQLite's planner rightly ignores indexes of an empty one)."""
    from booking.big_clinic import add_practice
    from booking.timeutil import utcnow
    from tests.test_big_clinic import queue_plan, reads_in_queue_order

    with app.app_context():
        add_practice(db.session, app.config, utcnow(), clinicians=1, patients=300, past_days=0)
        plan = queue_plan(db.session, db.engine)
        db.session.rollback()
    assert reads_in_queue_order(plan), plan


def migrated_app(url, tmp_path):
    app = create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        upgrade()
    return app


def test_upgrade_builds_an_empty_sqlite_database_matching_the_models(tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}", tmp_path)
    assert schema_differences(app) == []
    assert_queue_order_index_serves_the_queue(app)
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"staff_user", "audit_event", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}


@pytest.fixture
def empty_postgres_database():
    """An empty PostgreSQL database beside the test database, emptied again afterwards."""
    postgres_only()
    with scratch_postgres_database("migrations") as url:
        yield url


def test_upgrade_builds_an_empty_postgresql_database_matching_the_models(empty_postgres_database, tmp_path):
    app = migrated_app(empty_postgres_database, tmp_path)
    try:
        assert schema_differences(app) == []
        assert_queue_order_index_serves_the_queue(app)
        with app.app_context():
            downgrade(revision="base")
    finally:
        with app.app_context():
            db.engine.dispose()


def test_migration_files_are_date_prefixed():
    import pathlib
    import re

    files = sorted(pathlib.Path(__file__).resolve().parent.parent.joinpath("migrations", "versions").glob("*.py"))
    assert files
    for path in files:
        assert re.match(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$", path.name), path.name


def test_migrated_database_guards_what_the_models_guard(tmp_path):
    """The append-only audit log and the booking overlap guard come from the migrations too."""
    app = migrated_app(f"sqlite:///{tmp_path / 'guards.sqlite'}", tmp_path)
    with app.app_context(), db.engine.begin() as connection:
        triggers = set(connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert triggers == {"audit_event_no_update", "audit_event_no_delete",
                        "booking_no_overlap_insert", "booking_no_overlap_update"}


def test_migrated_postgresql_database_has_the_exclusion_constraint(empty_postgres_database, tmp_path):
    app = migrated_app(empty_postgres_database, tmp_path)
    try:
        with app.app_context(), db.engine.connect() as connection:
            kinds = dict(connection.execute(sa.text(
                "SELECT conname, contype FROM pg_constraint WHERE conname = 'booking_no_overlap'")).all())
            triggers = set(connection.execute(sa.text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        assert kinds == {"booking_no_overlap": "x"}
        assert "audit_event_append_only" in triggers
    finally:
        with app.app_context():
            db.engine.dispose()


def test_migrated_database_has_the_schedule_and_plan_version_rows(tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'version.sqlite'}", tmp_path)
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, version FROM schedule_version ORDER BY id")).all() == [
            (1, 0), (2, 0)]
