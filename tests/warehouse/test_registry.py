"""Registry extracts (SPEC §3): reading, ID normalisation, refusal, snapshots and accumulating deaths."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from core.home import Home
from core.reference import load_reference
from intake.registries import column_mapping, discover_extracts, normalise_registry_ids
from intake.registry_load import load_registries
from transforms.identifiers import id_check_char
from warehouse.connection import open_warehouse
from warehouse.registry_store import registry_digest

REF = load_reference()
VEH = "id_no,plate,vehicle_type,registered_on,status,disability_vehicle"


def make_id(n: int, birth: str = "19800101", area: str = "500110") -> str:
    first17 = f"{area}{birth}{n:03d}"
    return first17 + id_check_char(first17)


LEGACY = "110105491231002"  # 15 digits: 11010519491231002X once upgraded


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def write(home: Home, source: str, name: str, text: str, encoding: str = "utf-8") -> None:
    folder = home.registries / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def load(home: Home, as_of: date, ref=REF):
    with open_warehouse(home, flow="test") as con:
        return load_registries(con, home, ref, as_of, None)


def query(home: Home, q: str, params=None):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q, params or []).fetchall()


def vehicles(n_valid: int, invalid: int = 0, plate_prefix: str = "渝A") -> str:
    rows = [f"{make_id(i)},{plate_prefix}{i:05d},小型轿车,2020-01-01,正常,否" for i in range(n_valid)]
    rows += [
        f"12345678901234567{i % 10},{plate_prefix}X{i:04d},小型轿车,2020-01-01,正常,否"
        for i in range(invalid)
    ]
    return "\n".join([VEH, *rows]) + "\n"


def test_normalise_upgrades_15_digits_and_drops_invalid():
    got = normalise_registry_ids(
        pl.DataFrame(
            {
                "raw_id": [
                    LEGACY,
                    " 11010519491231002x ",
                    "11010519491231002Y",
                    "１１０１０５１９４９１２３１００２X",
                    None,
                ]
            }
        ),
        date(2025, 1, 1),
    )
    assert got["id_no"].to_list() == [
        "11010519491231002X",
        "11010519491231002X",
        None,
        "11010519491231002X",
        None,
    ]
    assert got["upgraded"].to_list() == [True, False, False, False, False]


def test_extract_loaded_with_ids_normalised_and_invalid_rows_counted(home):
    text = vehicles(300, invalid=2).replace(make_id(0), LEGACY)
    write(home, "vehicles", "2025-03-31.csv", text)
    [o] = load(home, date(2025, 4, 1))
    assert (o.status, o.rows_read, o.invalid_ids, o.rows_loaded, o.upgraded_ids, o.is_current) == (
        "loaded",
        302,
        2,
        300,
        1,
        True,
    )
    assert query(home, "SELECT count(*), count(DISTINCT id_no) FROM registry.vehicles") == [(300, 300)]
    assert query(home, "SELECT plate FROM registry.vehicles WHERE id_no = '11010519491231002X'") == [
        ("渝A00000",)
    ]
    assert query(home, "SELECT rows_read, invalid_ids, status FROM registry.extracts") == [(302, 2, "loaded")]


def test_too_many_invalid_ids_refuses_and_previous_stays_current(home):
    write(home, "vehicles", "2025-03-31.csv", vehicles(100))
    load(home, date(2025, 4, 1))
    write(home, "vehicles", "2025-06-30.csv", vehicles(98, invalid=2, plate_prefix="渝B"))  # 2% > 1%
    [_, o] = load(home, date(2025, 7, 1))
    assert o.status == "refused" and "超过" in o.reason
    assert query(home, "SELECT count(*) FROM registry.vehicles WHERE plate LIKE '渝A%'") == [(100,)]
    assert query(home, "SELECT extract_date FROM registry.extracts WHERE is_current") == [
        (date(2025, 3, 31),)
    ]


def test_limit_comes_from_settings(home, tmp_path):
    (home.reference).mkdir(exist_ok=True)
    settings = REF["settings"].with_columns(
        value=pl.when(pl.col("key") == "registry_invalid_id_limit")
        .then(pl.lit("0.05"))
        .otherwise(pl.col("value"))
    )
    settings.write_csv(home.reference / "settings.csv")
    write(home, "vehicles", "2025-06-30.csv", vehicles(98, invalid=2))
    [o] = load(home, date(2025, 7, 1), load_reference(home.reference))
    assert o.status == "loaded" and o.invalid_ids == 2


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("2025-03-31.csv", "id_no,plate,status\n" + make_id(1) + ",渝A1,正常\n", "vehicle_type"),
        ("2025-03-31.parquet", "this is not parquet", "无法读取"),
    ],
)
def test_missing_column_or_unreadable_file_is_refused(home, name, content, why):
    write(home, "vehicles", name, content)
    [o] = load(home, date(2025, 4, 1))
    assert o.status == "refused" and why in o.reason
    assert query(home, "SELECT status, is_current FROM registry.extracts") == [("refused", False)]


def test_newer_snapshot_replaces_older_late_file_only_recorded_deaths_accumulate(home):
    a, b, c = make_id(1), make_id(2), make_id(3)
    write(home, "vehicles", "2025-06-30.csv", f"{VEH}\n{a},渝A1,小型轿车,2020-01-01,正常,否\n")
    write(home, "deaths", "2025-06-30.csv", f"id_no,name,died_on\n{a},甲,2025-05-01\n")
    load(home, date(2025, 7, 1))
    write(home, "vehicles", "2025-09-30.csv", f"{VEH}\n{b},渝A2,小型轿车,2020-01-01,正常,否\n")
    write(home, "deaths", "2025-09-30.csv", f"id_no,name,died_on\n{b},乙,2025-08-01\n")
    write(home, "vehicles", "2025-03-31.csv", f"{VEH}\n{c},渝A3,小型轿车,2020-01-01,正常,否\n")  # late, older
    outcomes = load(home, date(2025, 10, 1))
    assert {
        (o.rel_path.split("/")[-1], o.source, o.status, o.is_current) for o in outcomes if o.status != "known"
    } == {
        ("2025-03-31.csv", "vehicles", "loaded", False),
        ("2025-09-30.csv", "vehicles", "loaded", True),
        ("2025-09-30.csv", "deaths", "loaded", True),
    }
    assert query(home, "SELECT id_no FROM registry.vehicles") == [(b,)]
    assert query(home, "SELECT id_no, died_on FROM registry.deaths ORDER BY died_on") == [
        (a, date(2025, 5, 1)),
        (b, date(2025, 8, 1)),
    ]
    assert query(home, "SELECT count(*) FROM registry.extracts") == [(5,)]


def test_same_file_twice_changes_nothing_and_digest_follows_new_extracts(home):
    write(home, "vehicles", "2025-06-30.csv", vehicles(3))
    load(home, date(2025, 7, 1))
    with open_warehouse(home, flow="test") as con:
        first = registry_digest(con)
    [o] = load(home, date(2025, 7, 2))
    assert o.status == "known"
    with open_warehouse(home, flow="test") as con:
        assert registry_digest(con) == first
    write(home, "vehicles", "2025-09-30.csv", vehicles(4))
    load(home, date(2025, 10, 1))
    with open_warehouse(home, flow="test") as con:
        assert registry_digest(con) != first


def test_extracts_dated_after_as_of_have_not_arrived_and_bad_names_are_ignored(home):
    write(home, "vehicles", "2025-06-30.csv", vehicles(1))
    write(home, "vehicles", "2025-09-30.csv", vehicles(2))
    write(home, "vehicles", "latest.csv", vehicles(2))
    write(home, "weather", "2025-06-30.csv", "a\n1\n")
    found = discover_extracts(home, date(2025, 7, 1))
    assert [e.rel_path for e in found.extracts] == ["registries/vehicles/2025-06-30.csv"]
    assert found.not_yet_arrived == 1
    assert sorted(found.ignored) == ["registries/vehicles/latest.csv", "registries/weather"]


def test_parquet_gb18030_csv_and_chinese_id_header(home):
    a, b = make_id(1), make_id(2)
    (home.registries / "business").mkdir(parents=True)
    pl.DataFrame(
        {
            "id_no": [a],
            "uscc": ["91500110MA5U0AB12X"],
            "role": ["股东"],
            "status": ["存续"],
            "registered_capital": ["100000.50"],
            "extra": [1],
        }
    ).write_parquet(home.registries / "business" / "2025-06-30.parquet")
    write(
        home,
        "public_payroll",
        "2025-06-30.csv",
        f"身份证号,employer,since\n{b},綦江中学,2019/3/1\n",
        "gb18030",
    )
    outcomes = load(home, date(2025, 7, 1))
    assert [o.status for o in outcomes] == ["loaded", "loaded"]
    assert query(home, "SELECT id_no, registered_capital FROM registry.business") == [
        (a, pytest.approx(100000.5))
    ]
    assert query(home, "SELECT id_no, employer, since FROM registry.public_payroll") == [
        (b, "綦江中学", date(2019, 3, 1))
    ]


def test_column_mapping_is_case_and_space_insensitive():
    got = column_mapping("deaths", ["\ufeffID_NO ", "Name", "died_on", "other"])
    assert got == {"\ufeffID_NO ": "id_no", "Name": "name", "died_on": "died_on"}


def test_money_and_period_typed(home):
    a = make_id(1)
    write(
        home,
        "social_insurance",
        "2025-06-30.csv",
        f'id_no,kind,monthly_amount,period\n{a},养老金,"1,234.56",202506\n',
    )
    load(home, date(2025, 7, 1))
    assert query(home, "SELECT monthly_amount::VARCHAR, period_month FROM registry.social_insurance") == [
        ("1234.56", date(2025, 6, 1))
    ]


def test_parquet_then_csv_extracts_of_one_source_in_one_run_count_and_type_alike(home):
    """A Parquet extract is read through a view over the file, a CSV through a staging table:
    the two paths, one after the other in one run, give the same counts and types."""
    import io

    text = vehicles(50).replace(make_id(0), LEGACY)
    (home.registries / "vehicles").mkdir(parents=True)
    pl.read_csv(io.StringIO(text), infer_schema=False).write_parquet(
        home.registries / "vehicles" / "2025-06-30.parquet")
    write(home, "vehicles", "2025-07-31.csv", text.replace("渝A", "渝B"))
    first, second = load(home, date(2025, 8, 1))
    for o in (first, second):
        assert (o.status, o.rows_read, o.invalid_ids, o.rows_loaded, o.upgraded_ids) == ("loaded", 50, 0, 50, 1)
    assert (first.is_current, second.is_current) == (True, True)  # each the newest when it was loaded
    rows = query(home, "SELECT count(*), min(plate), max(registered_on), count(*) FILTER (WHERE id_no = "
                 "'11010519491231002X') FROM registry.vehicles")
    assert rows == [(50, "渝B00000", date(2020, 1, 1), 1)]  # the July CSV replaced the June Parquet
