"""``DATABASE_URL`` as hosts hand it out, and one line for anything else (issue 14, item 4)."""

from __future__ import annotations

import pytest

from db.engine import DatabaseUrlError, parse_database_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://user:secret@db.example:5432/bot", "postgresql+psycopg"),
        ("postgresql://user@db.example/bot", "postgresql+psycopg"),
        ("postgres+asyncpg://user@db.example/bot", "postgresql+asyncpg"),
        ("POSTGRES://user@db.example/bot", "postgresql+psycopg"),
    ],
)
def test_the_postgres_scheme_of_hosting_providers_is_postgresql(given: str, driver: str) -> None:
    urls = parse_database_url(given)
    assert urls.async_url.drivername == driver
    assert urls.sync_url.drivername == "postgresql+psycopg"
    assert urls.async_url.database == "bot"


@pytest.mark.parametrize(
    "given", ["http://example.org/db", "nonsense://", "redis://localhost", "Mongodb://h/db"]
)
def test_an_unknown_scheme_is_one_line_naming_the_variable(given: str) -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        parse_database_url(given)
    message = str(raised.value)
    assert message.startswith("DATABASE_URL")
    assert "\n" not in message
    assert "sqlite" in message and "postgresql" in message


def test_messages_name_the_driver_given_with_the_password_hidden() -> None:
    urls = parse_database_url("postgresql+asyncpg://user:secret@127.0.0.1:1/x")
    assert urls.safe() == "postgresql+asyncpg://user:***@127.0.0.1:1/x"
    assert parse_database_url("postgres://u:pw@h/db").safe() == "postgres://u:***@h/db"
