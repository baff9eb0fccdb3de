"""The sampling method and error rates as pure functions (SPEC §6)."""

from __future__ import annotations

import copy
import hashlib
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import sampling

SEED_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
SEED = bytes.fromhex(SEED_HEX)
TOWN, OTHER = "500110001", "500110002"


def by_hand(town: str, case: str) -> bytes:
    return hashlib.sha256(SEED + town.encode("utf-8") + case.encode("utf-8")).digest()


# ---------------------------------------------------------------- k, hash, ratio


@pytest.mark.parametrize(
    ("n", "ratio", "minimum", "k"),
    [
        (10, 0.3, 3, 3),  # 0.3 x 10 in binary floats is 3.0000000000000004: must still be 3
        (11, 0.3, 3, 4),  # ceil(3.3)
        (20, 0.3, 3, 6),
        (5, 0.3, 3, 3),  # the minimum
        (2, 0.3, 3, 2),  # never more than N
        (0, 0.3, 3, 0),
        (7, "0.4", 3, 3),  # ceil(2.8)
        (30, 0.7, 3, 21),  # 0.7 x 30 = 21.000000000000004 in floats
        (9, 1.0, 3, 9),
    ],
)
def test_sample_size(n, ratio, minimum, k):
    assert sampling.sample_size(n, ratio, minimum) == k


def test_case_hash_is_sha256_of_seed_town_and_case_bytes():
    assert sampling.case_hash(SEED, TOWN, "GN-2025-001") == by_hand(TOWN, "GN-2025-001").hex()
    assert sampling.case_hash(SEED, TOWN, "古南-001") == by_hand(TOWN, "古南-001").hex()  # UTF-8
    with pytest.raises(ValueError):
        sampling.case_hash(SEED[:16], TOWN, "x")
    with pytest.raises(ValueError):
        sampling.parse_seed("abc")


@pytest.mark.parametrize(
    ("ci_low", "ratio", "raised"),
    [(None, Decimal("0.3"), False), (0.05, Decimal("0.3"), False), (0.0501, Decimal("0.4"), True)],
)
def test_ratio_rises_only_when_the_lower_bound_exceeds_the_threshold(ci_low, ratio, raised):
    assert sampling.town_ratio(0.3, 0.1, 1.0, 0.05, ci_low) == (ratio, raised)


def test_raised_ratio_is_capped():
    assert sampling.town_ratio("0.95", "0.1", "1.0", "0.05", 0.5) == (Decimal("1.0"), True)


# ---------------------------------------------------------------- selection


def test_mandatory_first_then_smallest_hashes():
    cases = [f"GN-{i:02d}" for i in range(1, 21)]
    sel = sampling.select_town(SEED, TOWN, cases, ["GN-07", "GN-03"], 0.3, 3)
    assert sel.k == 6
    others = sorted((c for c in cases if c not in ("GN-03", "GN-07")), key=lambda c: by_hand(TOWN, c))
    assert sel.selected == ("GN-03", "GN-07", *others[:4])


def test_mandatory_cases_beyond_k_are_all_in():
    cases = [f"C{i}" for i in range(10)]
    sel = sampling.select_town(SEED, TOWN, cases, cases[:5], 0.3, 3)
    assert sel.k == 3 and sel.selected == tuple(cases[:5])


def test_same_case_numbers_in_two_towns_hash_differently():
    a = sampling.select_town(SEED, TOWN, [f"C{i}" for i in range(50)], [], 0.1, 1)
    b = sampling.select_town(SEED, OTHER, [f"C{i}" for i in range(50)], [], 0.1, 1)
    assert a.hashes["C1"] != b.hashes["C1"]
    assert a.selected != b.selected


def population(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=sampling.POPULATION_SCHEMA, orient="row")


def ratios(*towns: str, ratio: str = "0.3", minimum: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {"town_code": list(towns), "ratio": [ratio] * len(towns), "minimum_per_town": [minimum] * len(towns)}
    )


def test_draw_marks_mandatory_reasons_and_selection():
    pop = population(
        [(TOWN, f"GN-{i}", "dibao_urban", i == 1, i == 2, "X02,X03" if i == 3 else None) for i in range(1, 9)]
        + [(OTHER, "WL-1", "tekun_home", False, False, None)]
    )
    cases, towns = sampling.draw(pop, SEED, ratios(TOWN, OTHER))
    assert towns.select("town_code", "population", "k", "mandatory", "selected").rows() == [
        (TOWN, 8, 3, 3, 3),
        (OTHER, 1, 1, 0, 1),
    ]
    mand = cases.filter(pl.col("mandatory")).select("case_no", "mandatory_reasons").rows()
    assert mand == [("GN-1", "staff_relative"), ("GN-2", "complaint"), ("GN-3", "open_error")]
    assert cases.filter(pl.col("selected"))["case_no"].to_list() == ["GN-1", "GN-2", "GN-3", "WL-1"]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4),
    ratio=st.sampled_from(["0.1", "0.3", "0.35", "0.5", "1"]),
    minimum=st.integers(min_value=0, max_value=5),
    flags=st.lists(st.booleans(), min_size=160, max_size=160),
    seed=st.binary(min_size=32, max_size=32),
)
def test_every_town_meets_k_mandatory_always_in_and_draws_repeat(sizes, ratio, minimum, flags, seed):
    rows, i = [], 0
    towns = [f"5001100{10 + t:02d}" for t in range(len(sizes))]
    for town, n in zip(towns, sizes, strict=True):
        for c in range(n):
            rows.append((town, f"A-{c}", "dibao_rural", flags[i], False, None))
            i += 1
    pop = population(rows)
    present = sorted({r[0] for r in rows})
    cases, summary = sampling.draw(pop, seed, ratios(*present, ratio=ratio, minimum=minimum))
    again, _ = sampling.draw(pop.reverse(), seed, ratios(*present, ratio=ratio, minimum=minimum))
    assert cases.equals(again)
    for t in summary.iter_rows(named=True):
        mine = cases.filter(pl.col("town_code") == t["town_code"])
        assert t["k"] == min(
            t["population"], max(-(-int(Decimal(ratio) * t["population"] * 100) // 100), minimum)
        )
        assert mine["selected"].sum() == max(t["k"], int(mine["mandatory"].sum()))
        assert mine.filter(pl.col("mandatory"))["selected"].all()
        # the whole-frame draw is the plain-Python method of docs/spotcheck-method.md, town by town
        plain = sampling.select_town(seed, t["town_code"], mine["case_no"].to_list(),
                                     mine.filter(pl.col("mandatory"))["case_no"].to_list(), ratio, minimum)
        assert mine.filter(pl.col("selected")).sort("selection_order")["case_no"].to_list() == list(plain.selected)
        assert dict(zip(mine["case_no"], mine["hash_hex"], strict=True)) == plain.hashes
        assert (t["k"], t["mandatory"]) == (plain.k, len(plain.mandatory))


# ---------------------------------------------------------------- error rates


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (1, 10, 0.017876, 0.404150),
        (0, 5, 0.0, 0.434482),
        (3, 3, 0.438503, 1.0),
        (5, 20, 0.111862, 0.468701),
    ],
)
def test_wilson_interval_matches_hand_computation(x, n, low, high):
    got = sampling.wilson_interval(x, n)
    assert got == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))


def test_wilson_interval_of_nothing_inspected_is_empty():
    assert sampling.wilson_interval(0, 0) == (None, None)


def test_inspections_monthly_matches_a_hand_computation():
    # 古南: 6 urban + 4 rural cases, 4 sampled, 3 inspected (1 不属实); 文龙: 2 cases both sampled, none inspected
    rows = (
        [
            ("2025-03", TOWN, "dibao_urban", i < 3, c)
            for i, c in enumerate(["not_true", "true", None, None, None, None])
        ]
        + [("2025-03", TOWN, "dibao_rural", i < 1, c) for i, c in enumerate(["true", None, None, None])]
        + [("2025-03", OTHER, "dibao_urban", True, None), ("2025-03", OTHER, "dibao_urban", True, None)]
    )
    cases = pl.DataFrame(rows, schema=sampling.CASE_RESULT_SCHEMA, orient="row")
    params = {"2025-03": {"ratio": 0.3, "ratio_step": 0.1, "ratio_max": 1.0, "error_rate_threshold": 0.05}}
    mart = sampling.inspections_monthly(cases, [TOWN, OTHER, "500110003"], params)
    got = {(r["town_code"], r["program"]): r for r in mart.iter_rows(named=True)}
    assert len(mart) == 6  # 2 + 1 program rows, an 'all' row for each of the 3 towns
    town_all = got[(TOWN, "all")]
    assert [town_all[k] for k in ("population", "sampled", "inspected", "not_true")] == [10, 4, 3, 1]
    # 1 of 3, z = 1.959964: centre (1/3 + z²/6)/(1 + z²/3) = 0.5531; half-width 0.5139
    assert town_all["error_rate"] == pytest.approx(1 / 3)
    assert town_all["ci_low"] == pytest.approx(0.061492, abs=1e-6)
    assert town_all["ci_high"] == pytest.approx(0.792340, abs=1e-6)
    assert town_all["next_ratio"] == pytest.approx(0.4)
    urban = got[(TOWN, "dibao_urban")]
    assert [urban[k] for k in ("population", "sampled", "inspected", "not_true")] == [6, 3, 2, 1]
    assert urban["error_rate"] == pytest.approx(0.5)
    rural = got[(TOWN, "dibao_rural")]
    assert (rural["inspected"], rural["not_true"], rural["ci_low"]) == (1, 0, 0.0)
    other = got[(OTHER, "all")]
    assert (
        other["sampled"],
        other["inspected"],
        other["error_rate"],
        other["ci_low"],
        other["next_ratio"],
    ) == (2, 0, None, None, pytest.approx(0.3))
    empty = got[("500110003", "all")]
    assert (empty["population"], empty["sampled"]) == (0, 0)


# ---------------------------------------------------------------- manifest verification


def make_manifest() -> dict:
    cases = [f"GN-{i:02d}" for i in range(1, 13)]
    sel = sampling.select_town(SEED, TOWN, cases, ["GN-05"], "0.3", 3)
    return {
        "method": sampling.METHOD,
        "period": "2025-03",
        "seed_hex": SEED_HEX,
        "totals": {"towns": 1, "population": 12, "selected": len(sel.selected)},
        "towns": [
            {
                "town_code": TOWN,
                "population_count": 12,
                "population": cases,
                "ratio": "0.3",
                "ratio_basis": {
                    "base": "0.3",
                    "raised": False,
                    "previous_ci_low": None,
                    "threshold": "0.05",
                    "step": "0.1",
                    "max": "1",
                },
                "minimum": 3,
                "k": sel.k,
                "mandatory": [{"case_no": "GN-05", "reasons": ["complaint"]}],
                "selected": [
                    {"case_no": c, "by": "mandatory" if c == "GN-05" else "hash", "hash": sel.hashes[c]}
                    for c in sel.selected
                ],
                "selected_count": len(sel.selected),
            }
        ],
    }


def test_verifier_accepts_an_untouched_manifest():
    assert sampling.verify_manifest(make_manifest()) == []


def _town(m: dict) -> dict:
    return m["towns"][0]


def _not_selected(m: dict) -> str:
    chosen = {e["case_no"] for e in _town(m)["selected"]}
    return next(c for c in _town(m)["population"] if c not in chosen)


def test_verifier_rejects_a_case_added():
    m = make_manifest()
    extra = _not_selected(m)
    _town(m)["selected"].append(
        {"case_no": extra, "by": "hash", "hash": sampling.case_hash(SEED, TOWN, extra)}
    )
    _town(m)["selected_count"] += 1
    m["totals"]["selected"] += 1
    problems = sampling.verify_manifest(m)
    assert any("多出" in p and extra in p for p in problems)


def test_verifier_rejects_a_case_removed():
    m = make_manifest()
    gone = _town(m)["selected"].pop()["case_no"]
    _town(m)["selected_count"] -= 1
    m["totals"]["selected"] -= 1
    problems = sampling.verify_manifest(m)
    assert any("缺少" in p and gone in p for p in problems)


def test_verifier_rejects_a_case_swapped():
    m = make_manifest()
    swap_in = _not_selected(m)
    swapped_out = _town(m)["selected"][-1]["case_no"]
    _town(m)["selected"][-1] = {
        "case_no": swap_in,
        "by": "hash",
        "hash": sampling.case_hash(SEED, TOWN, swap_in),
    }
    problems = sampling.verify_manifest(m)
    assert any(swap_in in p for p in problems) and any(swapped_out in p for p in problems)


def test_verifier_rejects_another_seed_a_wrong_k_or_an_unjustified_ratio():
    m = make_manifest()
    m["seed_hex"] = "ff" * 32
    assert sampling.verify_manifest(m)
    m = make_manifest()
    _town(m)["k"] = 2
    assert any("k 为 2" in p for p in sampling.verify_manifest(m))
    m = make_manifest()
    _town(m)["ratio"] = "0.1"
    assert any("抽查比例" in p for p in sampling.verify_manifest(m))
    m = make_manifest()
    _town(m)["population"].append("GN-99")  # a case slipped into the population
    assert sampling.verify_manifest(m)
    m = make_manifest()
    _town(m)["mandatory"].append({"case_no": "GN-99", "reasons": ["complaint"]})  # not in the population
    assert any("必查案件不在抽样总体中" in p for p in sampling.verify_manifest(m))
    m = make_manifest()
    _town(m)["selected"].reverse()
    assert any("顺序" in p for p in sampling.verify_manifest(m))
    assert sampling.verify_manifest(copy.deepcopy(make_manifest())) == []


# ---------------------------------------------------------------- inspection rows


def test_inspection_rows_are_typed_and_bad_rows_rejected_with_a_reason():
    raw = pl.DataFrame(
        {
            "case_no": [" GN-01 ", "GN-02", "GN-03", None, "GN-01", "GN-04"],
            "town_code": [
                "500110001",
                "５００１１０００１",
                "500110001",
                "500110001",
                "500110001",
                "500110001",
            ],
            "inspected_on": ["2025-04-10", "20250411", "", "2025-04-10", "2025-04-10", "2025-04-10"],
            "conclusion": ["不属实", " 属 实 ", "属实", "属实", "属实", "属实"],
            "problem_type": ["隐瞒收入", None, None, None, None, None],
            "action": ["停保", None, None, None, None, None],
            "source_row": [2, 3, 4, 5, 6, 7],
        }
    )
    known = pl.DataFrame({"town_code": [TOWN] * 4, "case_no": ["GN-01", "GN-02", "GN-03", "GN-04"]})
    sampled = pl.DataFrame(
        {"town_code": [TOWN] * 3, "case_no": ["GN-01", "GN-02", "GN-03"], "period": ["2025-03"] * 3}
    )
    out = sampling.check_inspection_rows(raw, known, sampled, [TOWN], date(2025, 4, 20))
    got = out.select("source_row", "row_status", "conclusion", "stops_payment", "problem").rows()
    conflict = "同一案件在本文件中有多条结论或处理意见不一致的核查结果"
    assert got == [
        (2, "rejected", "not_true", True, conflict),  # GN-01 twice with different conclusions
        (3, "accepted", "true", False, None),
        (4, "rejected", "true", False, "核查日期为空"),
        (5, "rejected", "true", False, "案件编号为空"),
        (6, "rejected", "true", False, conflict),
        (7, "rejected", "true", False, "该案件不在任何月份的抽查名单中，不能登记抽查结果"),
    ]
    assert out.filter(pl.col("source_row") == 3)["inspected_on"].to_list() == [date(2025, 4, 11)]


@pytest.mark.parametrize(("x", "n"), [(1, 10), (2, 3), (7, 40), (0, 12)])
def test_wilson_bounds_solve_the_score_equation(x, n):
    # the Wilson bounds are the p with (x/n - p)^2 = z^2 p (1 - p) / n
    z = 1.959963984540054
    for p in sampling.wilson_interval(x, n):
        assert (x / n - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, abs=1e-12)


def test_case_hashes_computed_by_duckdb_give_the_same_draw():
    """publish.spotcheck hands the draw hashes computed by DuckDB: the same as case_hash, the same draw."""
    from warehouse.hashing import sha256_hex_expr

    pop = population([(TOWN, f"古南-{i}", "dibao_urban", i == 3, False, None) for i in range(30)]
                     + [(OTHER, "WL-1", "tekun_home", False, False, None)])
    hashed = pop.with_columns(
        hash_hex=sha256_hex_expr(pl.concat_str("town_code", "case_no"), prefix=sampling.seed_bytes(SEED)))
    assert hashed["hash_hex"].to_list() == [sampling.case_hash(SEED, t, c) for t, c in pop.select(
        "town_code", "case_no").iter_rows()]
    here, there = sampling.draw(pop, SEED, ratios(TOWN, OTHER)), sampling.draw(hashed, SEED, ratios(TOWN, OTHER))
    assert here[0].equals(there[0]) and here[1].equals(there[1])
    with pytest.raises(ValueError, match="32 bytes"):
        sampling.seed_bytes(b"short")
