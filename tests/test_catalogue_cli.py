"""`pantau catalogue import|export` on the API's database: the example catalogue goes in,
the same CSV comes out, a running API serves the change without a restart, and a bad
file is one line naming its line, with nothing written."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from test_cli import REPO, pantau

from services.api.app import create_app
from shared.catalogue import parse_catalogue_csv, read_catalogue_csv
from shared.settings import ApiSettings

EXAMPLE = REPO / "examples" / "catalogue.csv"


def test_import_then_export_gives_the_example_back_and_the_api_serves_it(
    tmp_path: Path,
) -> None:
    db = {"PANTAU_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    app = create_app(
        ApiSettings(
            database_url=db["PANTAU_DATABASE_URL"], require_api_keys=False, run_dispatcher=False
        )
    )
    with TestClient(app) as client:
        assert client.get("/v1/catalogue").json()["version"] == 0
        done = pantau("catalogue", "import", str(EXAMPLE), **db)
        assert done.returncode == 0, done.stderr
        example = read_catalogue_csv(EXAMPLE)
        assert done.stdout.strip() == (
            f"catalogue version 1: {len(example.products)} created, 0 updated, "
            "0 deleted, 0 unchanged"
        )
        served = client.get("/v1/catalogue").json()  # the running API, not restarted
    assert served["version"] == 1
    assert len(served["products"]) == len(example.products)
    out = tmp_path / "out.csv"
    exported = pantau("catalogue", "export", str(out), **db)
    assert exported.returncode == 0, exported.stderr
    assert parse_catalogue_csv(out.read_text()).by_id == example.by_id
    stdout = pantau("catalogue", "export", **db).stdout
    assert stdout == out.read_text()
    again = pantau("catalogue", "import", str(out), "--replace", **db)
    assert "catalogue version 1: 0 created" in again.stdout


def test_a_bad_file_is_one_line_naming_the_line_and_writes_nothing(tmp_path: Path) -> None:
    db = {"PANTAU_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,name\nkopi,Kopi\nteh,\n")
    done = pantau("catalogue", "import", str(bad), **db)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"pantau: {bad}: line 3: product teh: name is empty"
    ]
    missing = pantau("catalogue", "import", str(tmp_path / "nope.csv"), **db)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "No such file" in missing.stderr
    assert pantau("catalogue", "export", **db).stdout.splitlines()[1:] == []
