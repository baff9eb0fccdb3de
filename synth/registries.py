"""Registry extracts from other departments (SPEC §3), covering the whole population.

The population is every person in a case plus about three times as many
residents who receive nothing. Residents own cars, homes, businesses,
pensions and savings freely. Recipients hold only what passes every X-rule:
at most one 住宅 per household, no 商业, disability or scrapped vehicles
only, no active business roles, small deposits, pensions equal to the
income they declared, 在职参保 or 缴存 only for members who declared an
income, no public payroll. Planted X-anomalies add rows to the newest extract.

Extracts are quarterly full snapshots, except deaths, which list only the
deaths since the previous extract. A small share of rows carry an invalid
ID (well under the 1% limit) and some carry 15-digit legacy IDs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from synth.anomalies import Plant
from synth.people import BANKS, make_usccs
from synth.timeframe import TimeFrame, from_days, to_days

SOURCES = (
    "deaths", "vehicles", "real_estate", "business", "social_insurance", "provident_fund", "public_payroll", "deposits",
)  # fmt: skip
COLUMNS = {
    "deaths": ("id_no", "name", "died_on"),
    "vehicles": ("id_no", "plate", "vehicle_type", "registered_on", "status", "disability_vehicle"),
    "real_estate": ("id_no", "property_id", "use", "area_m2", "registered_on"),
    "business": ("id_no", "uscc", "role", "status", "registered_capital"),
    "social_insurance": ("id_no", "kind", "monthly_amount", "period"),
    "provident_fund": ("id_no", "monthly_contribution", "status"),
    "public_payroll": ("id_no", "employer", "since"),
    "deposits": ("id_no", "institution", "balance", "as_of"),
}
DATE_COLS = {"died_on", "registered_on", "since", "as_of"}
MONEY_COLS = {"area_m2", "registered_capital", "monthly_amount", "monthly_contribution", "balance"}
VEHICLE_TYPES = ("小型轿车", "小型普通客车", "二轮摩托车", "三轮汽车", "轻型普通货车", "小型越野客车")
DISABILITY_VEHICLE_TYPES = ("残疾人专用小型自动挡载客汽车", "三轮摩托车")
EMPLOYERS = (
    "綦江区人民政府办公室", "綦江区人民医院", "綦江中学", "綦江区教育委员会", "綦江区古南街道办事处",
    "綦江区东溪镇人民政府", "綦江区中医院", "綦江区实验小学", "綦江区公安局", "綦江区交通局",
)  # fmt: skip
PLATE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
INVALID_SHARE = 0.003
LEGACY_SHARE = 0.03


def _d(days) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int64)).cast(pl.Int32).cast(pl.Date)


def _fen_text(fen: pl.Expr) -> pl.Expr:
    return (fen // 100).cast(pl.String) + "." + (fen % 100).cast(pl.String).str.zfill(2)


def make_residents(rng: np.random.Generator, n: int, as_of_days: int) -> pl.DataFrame:
    """Birth dates and sexes of residents who receive nothing (IDs and names later)."""
    age = np.clip(rng.gamma(2.6, 16.0, n), 0, 99)
    birth = as_of_days - np.floor(age * 365.2425).astype(np.int64) - rng.integers(0, 300, n)
    return pl.DataFrame({"birth": _d(birth), "male": rng.random(n) < 0.5})


def _plates(rng: np.random.Generator, n: int) -> pl.Series:
    letters = np.array(list("ABCDFGH"))[rng.choice(7, size=n, p=[0.25, 0.4, 0.1, 0.05, 0.1, 0.05, 0.05])]
    # an affine bijection of 0..34^5-1 keeps plates unique without drawing a permutation
    offset = int(rng.integers(0, 34**5))
    num = (np.arange(n, dtype=np.int64) * 7_919_447 + offset) % 34**5
    digits = np.stack([(num // 34**k) % 34 for k in range(4, -1, -1)], axis=1)
    chars = np.ascontiguousarray(np.array(list(PLATE_ALPHABET), dtype="<U1")[digits]).view("<U5").ravel()
    return pl.Series(np.char.add(np.char.add("渝", letters), chars), dtype=pl.String)


def _property_ids(rng: np.random.Generator, n: int, start: int, reg_days: np.ndarray) -> pl.Series:
    years = _d(reg_days).dt.year().cast(pl.String)
    nums = pl.Series(np.arange(start, start + n, dtype=np.int64)).cast(pl.String).str.zfill(7)
    return "渝(" + years + ")綦江区不动产权第" + nums + "号"


class Population:
    """Every person the registries know: id, name, birth, and what the generator knows of them."""

    def __init__(self, persons: pl.DataFrame):
        # persons: pkey, id_no, name, birth (Date), recipient (bool), case_id, slot, covered,
        #          pension_fen, work_fen, head (bool)
        self.p = persons
        self.n = persons.height
        self.birth = persons["birth"].cast(pl.Int32).to_numpy().astype(np.int64)
        self.recipient = persons["recipient"].to_numpy()
        self.id_no = persons["id_no"]


def _age_at(pop: Population, day: int) -> np.ndarray:
    return (day - pop.birth) / 365.2425


@dataclass
class _People:
    """What every registry source draws from: the population as arrays, the extract days,
    and the planted X-anomalies by rule with the person each one concerns."""

    rng: np.random.Generator
    pop: Population
    by_rule: dict[str, list[Plant]]
    person_of: dict[tuple[int, int], int]
    as_of: int
    extracts: list[int]
    e_last: int
    resident: np.ndarray
    age_now: np.ndarray
    adult: np.ndarray
    working: np.ndarray
    head: np.ndarray
    pension: np.ndarray
    work: np.ndarray
    pk: np.ndarray

    @property
    def n(self) -> int:
        return self.pop.n

    @property
    def recipient(self) -> np.ndarray:
        return self.pop.recipient

    def planted(self, rule: str) -> list[Plant]:
        return self.by_rule.get(rule, [])

    def pkey_of(self, plant: Plant, slot: int | None = None) -> int:
        return self.person_of[(plant.case_id, plant.slot if slot is None else slot)]


def _people(
    rng: np.random.Generator,
    pop: Population,
    plants: list[Plant],
    person_of: dict[tuple[int, int], int],
    tf: TimeFrame,
) -> _People:
    as_of = to_days(tf.as_of)
    extracts = [to_days(d) for d in tf.extract_dates]
    age_now = _age_at(pop, as_of)
    by_rule: dict[str, list[Plant]] = {}
    for pl_ in plants:
        by_rule.setdefault(pl_.rule, []).append(pl_)
    return _People(
        rng=rng,
        pop=pop,
        by_rule=by_rule,
        person_of=person_of,
        as_of=as_of,
        extracts=extracts,
        e_last=extracts[-1] if extracts else as_of,
        resident=~pop.recipient,
        age_now=age_now,
        adult=age_now >= 18,
        working=(age_now >= 18) & (age_now < 60),
        head=pop.p["head"].to_numpy(),
        pension=pop.p["pension_fen"].to_numpy(),
        work=pop.p["work_fen"].to_numpy(),
        pk=np.arange(pop.n, dtype=np.int64),
    )


def _with_planted(frame: pl.DataFrame, planted: dict[str, list]) -> pl.DataFrame:
    """`frame` with the planted rows (`planted` true) appended below it."""
    k = len(next(iter(planted.values())))
    return pl.concat(
        [frame, pl.DataFrame({**planted, "planted": [True] * k})],
        how="vertical_relaxed",
    )


@dataclass
class _Tables:
    """Each source's rows over the whole year, before they are cut into extracts."""

    vehicles: pl.DataFrame
    real_estate: pl.DataFrame
    business: pl.DataFrame
    social_insurance: pl.DataFrame
    insurance_planted: list[tuple[int, str, int]]  # X07/X10 rows, only in the newest extract
    provident_fund: pl.DataFrame
    public_payroll: pl.DataFrame
    deposits: pl.DataFrame
    deaths: pl.DataFrame
    first_window: int


def build_registries(
    rng: np.random.Generator,
    pop: Population,
    plants: list[Plant],
    person_of: dict[tuple[int, int], int],
    recipient_deaths: pl.DataFrame,
    tf: TimeFrame,
    urban_std_fen: int,
) -> Iterator[tuple[str, date, pl.DataFrame]]:
    """Every extract of every source, one at a time: (source, extract_date, frame).

    Frames carry typed columns (Date, Int64 fen for money) plus `pkey` (the
    person, -1 for an unknown one) and `planted`; writing turns them into
    CSV text or typed Parquet. The sources are drawn in a fixed order, then
    cut into snapshots one at a time (the caller writes and drops each).
    """
    c = _people(rng, pop, plants, person_of, tf)
    vehicles = _vehicles(c)
    real_estate = _real_estate(c)
    business = _business(c)
    social_insurance, insurance_planted = _social_insurance(c)
    provident_fund = _provident_fund(c)
    public_payroll = _public_payroll(c)
    deposits = _deposits(c, urban_std_fen)
    first_window = (c.extracts[0] - 91) if c.extracts else c.as_of - 91
    deaths = _deaths(c, recipient_deaths, first_window)
    t = _Tables(
        vehicles=vehicles,
        real_estate=real_estate,
        business=business,
        social_insurance=social_insurance,
        insurance_planted=insurance_planted,
        provident_fund=provident_fund,
        public_payroll=public_payroll,
        deposits=deposits,
        deaths=deaths,
        first_window=first_window,
    )
    windows = []
    prev_e = first_window
    for i, e in enumerate(c.extracts):
        windows.append((e, prev_e, i == len(c.extracts) - 1))
        prev_e = e
    for source in SOURCES:
        for e, prev, last in windows:
            yield source, from_days(e), _snapshot(rng, t, source, e, prev, last)


def _vehicles(c: _People) -> pl.DataFrame:
    """Vehicles (from `start` = registered_on): residents own one or two freely; a few
    recipient heads own a disability vehicle or a scrapped one; X02 adds a car."""
    rng, n, pk, resident, head = c.rng, c.n, c.pk, c.resident, c.head
    own1 = resident & c.adult & (rng.random(n) < 0.13)
    own2 = own1 & (rng.random(n) < 0.15)
    rv_dis = head & c.recipient & (rng.random(n) < 0.03)
    rv_dead = head & c.recipient & ~rv_dis & (rng.random(n) < 0.03)
    owners = np.concatenate([pk[own1], pk[own2], pk[rv_dis], pk[rv_dead]])
    k = len(owners)
    status = rng.choice(["正常", "注销", "报废", "抵押", "查封"], size=k, p=[0.78, 0.08, 0.06, 0.05, 0.03])
    vtype = np.array(VEHICLE_TYPES)[
        rng.choice(len(VEHICLE_TYPES), size=k, p=[0.45, 0.15, 0.2, 0.05, 0.1, 0.05])
    ]
    disab = np.where(rng.random(k) < 0.01, "是", "否").astype(object)
    n1, n2, n3 = own1.sum(), own2.sum(), rv_dis.sum()
    sl_dis = slice(n1 + n2, n1 + n2 + n3)
    sl_dead = slice(n1 + n2 + n3, k)
    disab[sl_dis] = "是"
    vtype[sl_dis] = np.array(DISABILITY_VEHICLE_TYPES)[rng.integers(0, 2, n3)]
    status[sl_dis] = "正常"
    status[sl_dead] = rng.choice(["注销", "报废"], size=k - n1 - n2 - n3)
    reg = rng.integers(to_days(date(2008, 1, 1)), c.as_of, k)
    reg[sl_dead] = rng.integers(to_days(date(2005, 1, 1)), to_days(date(2018, 1, 1)), k - n1 - n2 - n3)
    veh = pl.DataFrame(
        {
            "pkey": owners,
            "vehicle_type": vtype,
            "status": status,
            "disability_vehicle": disab.astype(str),
            "start": reg,
        }
    ).with_columns(planted=pl.lit(False))
    x = [(c.pkey_of(q), q.data["day"]) for q in c.planted("X02")]
    if x:
        veh = _with_planted(
            veh,
            {
                "pkey": [a for a, _ in x],
                "vehicle_type": ["小型轿车"] * len(x),
                "status": ["正常"] * len(x),
                "disability_vehicle": ["否"] * len(x),
                "start": [b for _, b in x],
            },
        )
    return veh.with_columns(plate=_plates(rng, veh.height), registered_on=_d(veh["start"].to_numpy()))


def _real_estate(c: _People) -> pl.DataFrame:
    """Real estate: residents' homes, shops and other property; a recipient household at
    most one modest 住宅; X03 adds a second home or a shop."""
    rng, n, pk, resident, adult = c.rng, c.n, c.pk, c.resident, c.adult
    r1 = resident & adult & (rng.random(n) < 0.45)
    r2 = r1 & (rng.random(n) < 0.18)
    rc = resident & adult & (rng.random(n) < 0.06)
    ro = resident & adult & (rng.random(n) < 0.05)
    rh = c.head & c.recipient & (rng.random(n) < 0.55)
    rq = c.head & c.recipient & (rng.random(n) < 0.04)
    parts = [
        (pk[r1], "住宅"), (pk[r2], "住宅"), (pk[rc], "商业"), (pk[ro], "其他"), (pk[rh], "住宅"), (pk[rq], "其他"),
    ]  # fmt: skip
    re_owner = np.concatenate([a for a, _ in parts])
    re_use = np.concatenate([np.full(len(a), u) for a, u in parts])
    m = len(re_owner)
    area = np.where(
        re_use == "住宅",
        rng.integers(3500, 16000, m),
        np.where(re_use == "商业", rng.integers(1500, 30000, m), rng.integers(800, 4000, m)),
    )
    rec_home = np.concatenate(
        [
            np.zeros(sum(len(a) for a, _ in parts[:4]), dtype=bool),
            np.ones(len(pk[rh]) + len(pk[rq]), dtype=bool),
        ]
    )
    area = np.where(rec_home & (re_use == "住宅"), rng.integers(3000, 11000, m), area)
    re_start = rng.integers(to_days(date(1998, 1, 1)), c.as_of, m)
    re = pl.DataFrame(
        {
            "pkey": re_owner,
            "use": re_use,
            "area_fen": area.astype(np.int64),
            "start": re_start,
            "planted": False,
        }
    )
    x_rows = []
    has_home = set(pk[rh].tolist())
    for q in c.planted("X03"):
        owner = c.pkey_of(q)
        if q.variant == "shop":
            x_rows.append((owner, "商业", int(rng.integers(2000, 9000)) * 100, q.data["day"]))
        else:
            x_rows.append((owner, "住宅", int(rng.integers(6000, 14000)) * 100, q.data["day"]))
            if owner not in has_home:
                x_rows.append((owner, "住宅", int(rng.integers(5000, 12000)) * 100, q.data["day"]))
    if x_rows:
        re = _with_planted(
            re,
            {
                "pkey": [a[0] for a in x_rows],
                "use": [a[1] for a in x_rows],
                "area_fen": [a[2] for a in x_rows],
                "start": [a[3] for a in x_rows],
            },
        )
    return re.with_columns(
        property_id=_property_ids(rng, re.height, int(rng.integers(1_000, 90_000)), re["start"].to_numpy()),
        registered_on=_d(re["start"].to_numpy()),
    )


def _business(c: _People) -> pl.DataFrame:
    """Business roles (from `start`): residents' freely; recipients' only closed or minor
    ones; X04 adds an active 法定代表人 or 股东 in the newest extract."""
    rng, n, pk = c.rng, c.n, c.pk
    b = c.resident & c.adult & (rng.random(n) < 0.06)
    rb = c.recipient & (c.age_now >= 18) & (rng.random(n) < 0.015)
    kb, krb = int(b.sum()), int(rb.sum())
    role = np.concatenate(
        [
            rng.choice(["法定代表人", "股东", "其他"], size=kb, p=[0.4, 0.4, 0.2]),
            rng.choice(["法定代表人", "股东", "其他"], size=krb, p=[0.3, 0.3, 0.4]),
        ]
    )
    bstatus = np.concatenate(
        [
            rng.choice(["存续", "注销"], size=kb, p=[0.8, 0.2]),
            np.full(krb, "注销", dtype="<U2"),
        ]
    )
    bstatus = np.where(
        (np.arange(kb + krb) >= kb) & (role == "其他"),
        np.where(rng.random(kb + krb) < 0.5, "存续", "注销"),
        bstatus,
    )
    bus = pl.DataFrame(
        {
            "pkey": np.concatenate([pk[b], pk[rb]]),
            "role": role,
            "status": bstatus,
            "capital_fen": (rng.integers(1, 500, kb + krb) * 1_000_000).astype(np.int64),
            "start": rng.integers(to_days(date(2010, 1, 1)), c.as_of, kb + krb),
            "planted": False,
        }
    )
    x = c.planted("X04")
    if x:
        bus = _with_planted(
            bus,
            {
                "pkey": [c.pkey_of(q) for q in x],
                "role": [["法定代表人", "股东"][i % 2] for i in range(len(x))],
                "status": ["存续"] * len(x),
                "capital_fen": [int(rng.integers(3, 100)) * 1_000_000 for _ in x],
                "start": [c.e_last] * len(x),
            },
        )
    return bus.with_columns(uscc=make_usccs(rng, bus.height))


def _social_insurance(c: _People) -> tuple[pl.DataFrame, list[tuple[int, str, int]]]:
    """Social insurance, one row per person and kind (each extract lists its month, a few
    pensions the month before too): residents' pensions, insurance and 失业金; recipients'
    pensions as declared and insurance only with a declared income. Also the planted rows
    (X07 a pension above the declared one, X10 insured without an income)."""
    rng, n, pk, resident, recipient = c.rng, c.n, c.pk, c.resident, c.recipient
    age_now, pension = c.age_now, c.pension
    pen_res = resident & (age_now >= 60) & (rng.random(n) < 0.7)
    pen_amt = np.where(
        rng.random(n) < 0.5, rng.integers(150, 300, n) * 100, rng.integers(1500, 5000, n) * 100
    )
    ins_res = resident & c.working & (rng.random(n) < 0.55)
    ins_rec = recipient & (c.work >= 10_000) & (age_now >= 18) & (age_now < 60) & (rng.random(n) < 0.25)
    ins_amt = rng.integers(300, 1500, n) * 100
    unemp = resident & c.working & ~ins_res & (rng.random(n) < 0.02)
    unemp_amt = rng.integers(1500, 2100, n) * 100
    pen_rec = recipient & (pension > 0)
    prev_month = rng.random(n) < 0.10
    si_base = pl.DataFrame(
        {
            "pkey": np.concatenate([pk[pen_res], pk[pen_rec], pk[ins_res], pk[ins_rec], pk[unemp]]),
            "kind": np.concatenate(
                [
                    np.full(int(pen_res.sum()), "养老金"),
                    np.full(int(pen_rec.sum()), "养老金"),
                    np.full(int(ins_res.sum()), "在职参保"),
                    np.full(int(ins_rec.sum()), "在职参保"),
                    np.full(int(unemp.sum()), "失业金"),
                ]
            ),  # fmt: skip
            "amount_fen": np.concatenate(
                [
                    pen_amt[pen_res],
                    pension[pen_rec],
                    ins_amt[ins_res],
                    ins_amt[ins_rec],
                    unemp_amt[unemp],
                ]
            ).astype(np.int64),  # fmt: skip
            "planted": False,
        }
    )
    si_base = si_base.with_columns(
        prev=pl.Series(prev_month[si_base["pkey"].to_numpy()]) & (pl.col("kind") == "养老金")
    )
    x_si = [(c.pkey_of(q), "养老金", q.data["amount_fen"]) for q in c.planted("X07")]
    x_si += [
        (c.pkey_of(q), "在职参保", int(rng.integers(400, 900)) * 100)
        for q in c.planted("X10")
        if q.variant == "insured"
    ]
    return si_base, x_si


def _provident_fund(c: _People) -> pl.DataFrame:
    """Provident fund accounts: residents' paying or sealed; recipients' sealed, or paying
    only with a declared income; X10's 'fund' variant adds a paying one."""
    rng, n, pk, recipient = c.rng, c.n, c.pk, c.recipient
    pf_res = c.resident & c.working & (rng.random(n) < 0.20)
    pf_status = np.where(rng.random(n) < 0.75, "缴存", "封存")
    pf_rec_sealed = recipient & (c.age_now >= 18) & (rng.random(n) < 0.03)
    pf_rec_pay = recipient & (c.work >= 10_000) & ~pf_rec_sealed & (rng.random(n) < 0.02)
    pf = pl.DataFrame(
        {
            "pkey": np.concatenate([pk[pf_res], pk[pf_rec_sealed], pk[pf_rec_pay]]),
            "contrib_fen": np.concatenate(
                [
                    rng.integers(200, 3000, int(pf_res.sum())) * 100,
                    rng.integers(100, 600, int(pf_rec_sealed.sum())) * 100,
                    rng.integers(100, 300, int(pf_rec_pay.sum())) * 100,
                ]
            ).astype(np.int64),  # fmt: skip
            "status": np.concatenate(
                [
                    pf_status[pf_res],
                    np.full(int(pf_rec_sealed.sum()), "封存"),
                    np.full(int(pf_rec_pay.sum()), "缴存"),
                ]
            ),  # fmt: skip
            "start": np.full(int(pf_res.sum() + pf_rec_sealed.sum() + pf_rec_pay.sum()), 0),
            "planted": False,
        }
    )
    x = [q for q in c.planted("X10") if q.variant == "fund"]
    if x:
        pf = _with_planted(
            pf,
            {
                "pkey": [c.pkey_of(q) for q in x],
                "contrib_fen": [int(rng.integers(300, 900)) * 100 for _ in x],
                "status": ["缴存"] * len(x),
                "start": [c.e_last] * len(x),
            },
        )
    return pf


def _public_payroll(c: _People) -> pl.DataFrame:
    """Public payroll: a few working-age residents; no recipient unless X05 plants one."""
    rng = c.rng
    pp = c.resident & c.working & (rng.random(c.n) < 0.03)
    pay = pl.DataFrame(
        {
            "pkey": c.pk[pp],
            "employer": np.array(EMPLOYERS)[rng.integers(0, len(EMPLOYERS), int(pp.sum()))],
            "start": rng.integers(to_days(date(1995, 1, 1)), c.as_of, int(pp.sum())),
            "planted": False,
        }
    )
    x = c.planted("X05")
    if x:
        pay = _with_planted(
            pay,
            {
                "pkey": [c.pkey_of(q) for q in x],
                "employer": [EMPLOYERS[i % len(EMPLOYERS)] for i in range(len(x))],
                "start": [q.data["day"] for q in x],
            },
        )
    return pay.with_columns(since=_d(pay["start"].to_numpy()))


def _deposits(c: _People, urban_std_fen: int) -> pl.DataFrame:
    """Deposits (balances drift a little between extracts): residents' freely, recipients'
    small; X06 adds a balance above the household's yearly standard."""
    rng, n, pk = c.rng, c.n, c.pk
    dp = c.resident & (c.age_now >= 16) & (rng.random(n) < 0.35)
    drc = c.recipient & (rng.random(n) < 0.4)
    banks = np.array([x_[0] for x_ in BANKS])
    dep = pl.DataFrame(
        {
            "pkey": np.concatenate([pk[dp], pk[drc]]),
            "institution": banks[rng.integers(0, len(banks), int(dp.sum() + drc.sum()))],
            "balance_fen": np.concatenate(
                [
                    np.floor(rng.lognormal(10.0, 1.3, int(dp.sum())) * 100),
                    rng.integers(0, 150_000, int(drc.sum())),
                ]
            ).astype(np.int64),  # fmt: skip
            "planted": False,
        }
    )
    x = c.planted("X06")
    if x:
        dep = _with_planted(
            dep,
            {
                "pkey": [c.pkey_of(q) for q in x],
                "institution": [banks[0]] * len(x),
                "balance_fen": [int(q.data["size"] * urban_std_fen * 12 * rng.uniform(1.3, 2.0)) for q in x],
            },
        )
    return dep


def _deaths(c: _People, recipient_deaths: pl.DataFrame, first_window: int) -> pl.DataFrame:
    """Deaths: residents (about 0.7% a year), the recipients who died in the year's events,
    and X01 (a covered member who died in the newest extract's quarter)."""
    rng, n, pk = c.rng, c.n, c.pk
    dead = c.resident & (rng.random(n) < 0.007 * (c.e_last - first_window) / 365)
    died = rng.integers(first_window + 1, c.e_last + 1, n)
    deaths = pl.DataFrame({"pkey": pk[dead], "died": died[dead], "planted": False})
    if recipient_deaths.height:
        person_of = c.person_of
        rd = recipient_deaths.select(
            pkey=pl.struct("case_id", "slot").map_elements(
                lambda s: person_of[(s["case_id"], s["slot"])], return_dtype=pl.Int64
            ),
            died=pl.col("died_on"),
            planted=pl.lit(False),
        )
        deaths = pl.concat([deaths, rd], how="vertical_relaxed")
    x = c.planted("X01")
    if x:
        deaths = _with_planted(
            deaths,
            {
                "pkey": [c.pkey_of(q) for q in x],
                "died": [q.data["day"] for q in x],
            },
        )
    return deaths


def _snapshot(
    rng: np.random.Generator, t: _Tables, source: str, e: int, prev: int, last: bool
) -> pl.DataFrame:
    """One source's extract dated `e`: what is registered by then (planted rows only in the
    newest), or the deaths since the previous extract `prev`."""
    planted_ok = pl.col("planted").not_() | pl.lit(last)
    dated = (pl.col("start") <= e) & planted_ok
    if source == "deaths":
        return t.deaths.filter((pl.col("died") > prev) & (pl.col("died") <= e)).select(
            "pkey", "planted", died_on=_d_expr("died")
        )
    if source == "vehicles":
        cols = ("plate", "vehicle_type", "registered_on", "status", "disability_vehicle")
        return t.vehicles.filter(dated).select("pkey", "planted", *cols)
    if source == "real_estate":
        return t.real_estate.filter(dated).select(
            "pkey", "planted", "property_id", "use", "area_fen", "registered_on"
        )
    if source == "business":
        return t.business.filter(dated).select("pkey", "planted", "uscc", "role", "status", "capital_fen")
    if source == "social_insurance":
        return _social_insurance_snapshot(t, e, last)
    if source == "provident_fund":
        return t.provident_fund.filter(dated).select("pkey", "planted", "contrib_fen", "status")
    if source == "public_payroll":
        return t.public_payroll.filter(dated).select("pkey", "planted", "employer", "since")
    return _deposits_snapshot(rng, t.deposits, e, planted_ok)


def _social_insurance_snapshot(t: _Tables, e: int, last: bool) -> pl.DataFrame:
    """The extract month's rows, the month before for a few pensions (a little lower),
    and in the newest extract the planted rows."""
    period = f"{from_days(e):%Y-%m}"
    si_base, x_si = t.social_insurance, t.insurance_planted
    cur = si_base.with_columns(period=pl.lit(period))
    earlier = si_base.filter("prev").with_columns(
        period=pl.lit(f"{from_days(e - 31):%Y-%m}"),
        amount_fen=(pl.col("amount_fen") - 1000).clip(lower_bound=0),
    )
    frames = [cur, earlier]
    if last and x_si:
        frames.append(
            pl.DataFrame(
                {
                    "pkey": [a for a, _, _ in x_si],
                    "kind": [b for _, b, _ in x_si],
                    "amount_fen": [c for _, _, c in x_si],
                    "planted": [True] * len(x_si),
                    "prev": [False] * len(x_si),
                    "period": [period] * len(x_si),
                }
            )
        )
    return pl.concat(frames, how="vertical_relaxed").select("pkey", "planted", "kind", "amount_fen", "period")


def _deposits_snapshot(
    rng: np.random.Generator, dep: pl.DataFrame, e: int, planted_ok: pl.Expr
) -> pl.DataFrame:
    """Every balance as of `e`, drifted by up to 5% (planted balances stay as planted)."""
    drift = pl.Series(rng.uniform(0.95, 1.05, dep.height))
    drifted = (pl.col("balance_fen") * pl.col("_drift")).floor().cast(pl.Int64)
    return (
        dep.with_columns(_drift=drift)
        .filter(planted_ok)
        .with_columns(
            balance_fen=pl.when(pl.col("planted")).then(pl.col("balance_fen")).otherwise(drifted),
            as_of=pl.lit(from_days(e)),
        )
        .select("pkey", "planted", "institution", "balance_fen", "as_of")
    )


def _d_expr(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int32).cast(pl.Date)


def finish_extract(
    rng: np.random.Generator, frame: pl.DataFrame, source: str, pop: Population, names: pl.Series
) -> tuple[pl.DataFrame, int]:
    """Attach IDs (a few invalid, some 15-digit) and the SPEC columns.

    Returns the typed frame (SPEC columns only) and the number of invalid IDs.
    """
    ids = pop.id_no.gather(frame["pkey"].to_numpy())
    f = frame.with_columns(id_no=ids)
    if source == "deaths":
        f = f.with_columns(name=names.gather(frame["pkey"].to_numpy()))
    n = f.height
    planted = f["planted"].to_numpy()
    recipient = pop.recipient[frame["pkey"].to_numpy()]
    k_bad = int(np.floor(INVALID_SHARE * n))
    eligible = np.flatnonzero(~planted & ~recipient)
    bad = (
        np.sort(rng.choice(eligible, size=min(k_bad, eligible.size), replace=False))
        if k_bad
        else np.array([], dtype=np.int64)
    )
    legacy = (rng.random(n) < LEGACY_SHARE) & ~planted
    bad_mask = np.zeros(n, dtype=bool)
    bad_mask[bad] = True
    legacy &= ~bad_mask
    kind = rng.integers(0, 2, n)
    idc = pl.col("id_no")
    wrong_check = idc.str.slice(0, 17) + pl.when(idc.str.slice(17, 1) == "0").then(pl.lit("1")).otherwise(
        pl.lit("0")
    )
    f = f.with_columns(
        id_no=pl.when(pl.Series(bad_mask) & (pl.Series(kind) == 0))
        .then(wrong_check)
        .when(pl.Series(bad_mask))
        .then(idc.str.slice(0, 17))
        .when(pl.Series(legacy) & (idc.str.slice(6, 2) == "19"))
        .then(idc.str.slice(0, 6) + idc.str.slice(8, 9))
        .otherwise(idc)
    )
    cols = []
    for c in COLUMNS[source]:
        if c == "area_m2":
            cols.append(pl.col("area_fen").alias(c))
        elif c == "registered_capital":
            cols.append(pl.col("capital_fen").alias(c))
        elif c == "monthly_amount":
            cols.append(pl.col("amount_fen").alias(c))
        elif c == "monthly_contribution":
            cols.append(pl.col("contrib_fen").alias(c))
        elif c == "balance":
            cols.append(pl.col("balance_fen").alias(c))
        else:
            cols.append(pl.col(c))
    return f.select(cols), int(bad_mask.sum())


def write_extract(path: Path, frame: pl.DataFrame, fmt: str) -> None:
    """CSV (text, money with two decimals) or Parquet (Date and Decimal(12,2))."""
    if fmt == "parquet":
        typed = frame.with_columns(
            [
                (pl.col(c).cast(pl.Decimal(14, 0)) / 100).cast(pl.Decimal(14, 2)).alias(c)
                for c in frame.columns
                if c in MONEY_COLS
            ]
        )
        typed.write_parquet(path, compression="zstd", statistics=False)
    else:
        text = frame.with_columns(
            [_fen_text(pl.col(c)).alias(c) for c in frame.columns if c in MONEY_COLS]
            + [pl.col(c).dt.strftime("%Y-%m-%d").alias(c) for c in frame.columns if c in DATE_COLS]
        )
        path.write_bytes(text.write_csv().encode("utf-8"))
