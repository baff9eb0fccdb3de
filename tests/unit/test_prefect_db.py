"""The demo's Prefect home starts from the database migrated at installation."""

from __future__ import annotations

import sqlite3

from flows import prefect_db


def _database(path, revision: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES (?)", [revision])


def _revision(path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_new_prefect_home_gets_a_copy_of_the_template(tmp_path, monkeypatch):
    template = tmp_path / "share" / "prefect-3.db"
    template.parent.mkdir()
    _database(template, "head-of-3")
    monkeypatch.setattr(prefect_db, "template_path", lambda: template)
    home = tmp_path / "demo" / "prefect"
    assert prefect_db.seed_prefect_home(home)
    assert _revision(home / "prefect.db") == "head-of-3"
    assert _revision(template) == "head-of-3"  # a copy: the demo's runs never reach the template


def test_an_existing_database_or_a_missing_template_is_left_alone(tmp_path, monkeypatch):
    template = tmp_path / "prefect-3.db"
    _database(template, "head-of-3")
    monkeypatch.setattr(prefect_db, "template_path", lambda: template)
    home = tmp_path / "prefect"
    home.mkdir()
    _database(home / "prefect.db", "the-operators-own")
    assert not prefect_db.seed_prefect_home(home)
    assert _revision(home / "prefect.db") == "the-operators-own"
    monkeypatch.setattr(prefect_db, "template_path", lambda: tmp_path / "never-made.db")
    assert not prefect_db.seed_prefect_home(tmp_path / "other")
    assert not (tmp_path / "other").exists()
