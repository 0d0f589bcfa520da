"""Registering a WABA: ``register_waba`` and ``wabawatch waba add``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.wabas.service import WabaError
from app.webhooks.models import ChangeStatus
from tests.factories import Personas, create_meta_app
from tests.support.meta_app import APP_ID
from tests.support.payloads import WABA_ID, fixture
from tests.support.rows import all_changes, all_events, register, store_delivery
from tests.support.settings import TEST_KEY


def wabawatch(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "ENCRYPTION_KEYS": TEST_KEY, "ENV": "development"}
    # The installed command: under `python -m app.cli` the module is __main__ and its CommandError
    # is not the one the task modules raise.
    return subprocess.run(
        [str(Path(sys.executable).parent / "wabawatch"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_waba_already_registered_for_the_app_is_refused(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    with pytest.raises(WabaError, match=f"WABA {WABA_ID} is already registered for Meta app {APP_ID}"):
        await register(db, personas.org_other, meta_app)


async def test_a_waba_id_must_be_digits(db: Database, personas: Personas, meta_app: MetaApp) -> None:
    with pytest.raises(WabaError, match="is not a WABA id"):
        await register(db, personas.org, meta_app, waba_id="12ab")


async def test_an_app_of_another_org_cannot_carry_this_orgs_waba(db: Database, personas: Personas) -> None:
    their_app = await create_meta_app(db, org_id=personas.org_other.id)
    with pytest.raises(WabaError, match="belongs to another organization"):
        await register(db, personas.org, their_app)


async def test_waba_add_registers_and_routes_earlier_changes(
    db: Database, database_url: str, personas: Personas, meta_app: MetaApp, tmp_path: Path
) -> None:
    await store_delivery(db, meta_app, fixture("security__pin_reset_request"))
    await Processor(db).run_until_idle()
    assert [c.status for c in await all_changes(db)] == [ChangeStatus.UNROUTED]

    done = wabawatch(
        database_url, tmp_path, "waba", "add", WABA_ID, "--org", "acme", "--app", APP_ID, "--name", "Acme"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"registered WABA {WABA_ID} for acme through Meta app {APP_ID}",
        "1 earlier change routed to acme; the worker processes them",
    ]
    await Processor(db).run_until_idle()
    assert [(e.kind, e.org_id) for e in await all_events(db)] == [("pin_reset_request", personas.org.id)]

    again = wabawatch(database_url, tmp_path, "waba", "add", WABA_ID, "--org", "bravo", "--app", APP_ID)
    assert again.returncode == 1
    assert again.stderr.strip() == f"wabawatch: WABA {WABA_ID} is already registered for Meta app {APP_ID}"


async def test_reprocess_command_prints_what_it_did_and_makes_no_duplicates(
    db: Database, database_url: str, personas: Personas, meta_app: MetaApp, tmp_path: Path
) -> None:
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, fixture("phone_number_quality_update__downgrade"))
    await store_delivery(db, meta_app, fixture("account_review_update__rejected"))
    await Processor(db).run_until_idle()

    done = wabawatch(database_url, tmp_path, "reprocess", "--since", "2000-01-01T00:00:00Z")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "reprocessed deliveries received since 2000-01-01T00:00:00+00:00",
        "deliveries: 2 split again (0 failed), 0 new changes",
        "changes: 2 processed again: 2 routed, 0 unrouted, 0 failed",
        "events: 0 created, 2 updated",
    ]
    assert len(await all_events(db)) == 2


def test_reprocess_refuses_a_since_that_is_not_iso8601(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reprocess", "--since", "yesterday"]) == 1
    assert capsys.readouterr().err.startswith("wabawatch: Invalid isoformat string: 'yesterday'")
