"""People of the synthetic district: names, resident IDs, bank accounts, villages.

Everything is vectorised (numpy draws, Polars string building) so a million
households take seconds. Check characters come from `transforms.identifiers`
(the one owner of the GB 11643 and Luhn rules).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.identifiers import id_check_char_expr, luhn_check_digit_expr, uscc_check_char_expr

# surnames common in south-west China, with rough weights
SURNAMES = (
    "陈李张刘王杨周罗何黄唐谭吴徐赵胡冉邓彭曾蒋袁向余田谢朱郑马冯文程廖秦付任龙牟熊韩"
    "杜钟邹梁宋汪戴雷蔡潘肖夏石贺郭穆敖犹游卢姚孙龚谢蒲代"
)
_SURNAME_WEIGHTS = np.array([1.0 / (1 + 0.08 * i) for i in range(len(SURNAMES))])
SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
GIVEN_MALE = "伟强军勇杰涛明超刚平辉华建国文斌波林峰鹏磊浩宇俊志海东成福贵富德全兵江川云龙洪中发友元学世光长万正永祥金银昌明松柏"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英兰玲萍红梅琴燕桂凤莉婷雪琳欣怡群琼珍翠春菊蓉容淑慧洁倩佳莲素碧小"

# address codes of issue (DOMAIN §10: 500222 and 500110 dominate; never only 500110)
ADDRESS_CODES = (
    ("500222", 0.45),  # former 綦江县
    ("500110", 0.30),  # 綦江区
    ("500221", 0.03),
    ("500381", 0.04),  # former 江津市
    ("500113", 0.03),
    ("500112", 0.02),
    ("500101", 0.01),
    ("510522", 0.02),  # 合江县 (Sichuan)
    ("510525", 0.01),
    ("510113", 0.01),
    ("522121", 0.04),  # 遵义县 (Guizhou)
    ("522132", 0.03),  # 习水县
    ("522126", 0.01),
)

# bank name, card prefix (BIN-like), account length, weight
BANKS = (
    ("重庆农村商业银行", "621449", 19, 0.38),
    ("中国农业银行", "622848", 19, 0.16),
    ("中国邮政储蓄银行", "621799", 19, 0.15),
    ("中国建设银行", "621700", 19, 0.10),
    ("中国工商银行", "622202", 19, 0.09),
    ("中国银行", "621661", 19, 0.05),
    ("重庆银行", "622616", 16, 0.04),
    ("重庆三峡银行", "623085", 16, 0.03),
)

VILLAGE_STEMS = [
    "新华",
    "红星",
    "团结",
    "和平",
    "石佛",
    "龙泉",
    "花坝",
    "白果",
    "金桥",
    "大坪",
    "中坝",
    "河坝",
    "新桥",
    "青杠",
    "柏林",
    "马鞍",
    "凤凰",
    "双河",
    "三合",
    "五一",
    "长田",
    "松林",
    "桥河",
    "沙坝",
    "永安",
    "兴隆",
    "民主",
    "复兴",
    "石桥",
    "黄桷",
    "茶园",
    "水口",
    "高峰",
    "梨园",
    "竹林",
    "天星",
    "观音",
    "清溪",
    "大石",
    "新民",
    "红岩",
    "向阳",
    "八角",
    "铁石",
    "七村",
    "龙台",
    "堡子",
    "万隆",
    "太平",
    "桃花",
    "安乐",
    "瓦房",
    "红光",
    "田坝",
    "新店",
    "古剑",
    "九龙",
    "联合",
    "老街",
    "东风",
]


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """An independent, reproducible random stream per generator component."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def _chars(text: str) -> pl.Series:
    return pl.Series(list(text), dtype=pl.String)


def make_names(
    rng: np.random.Generator, male: np.ndarray, surname_idx: np.ndarray | None = None
) -> pl.Series:
    """Surname + 1–2 given characters chosen by sex."""
    n = len(male)
    if surname_idx is None:
        surname_idx = rng.choice(len(SURNAMES), size=n, p=SURNAME_P)
    sur = _chars(SURNAMES).gather(surname_idx)
    gm, gf = _chars(GIVEN_MALE), _chars(GIVEN_FEMALE)
    g1 = np.where(male, rng.integers(0, len(gm), n), rng.integers(0, len(gf), n))
    g2 = np.where(male, rng.integers(0, len(gm), n), rng.integers(0, len(gf), n))
    two = rng.random(n) < 0.72
    frame = pl.DataFrame(
        {
            "sur": sur,
            "m": male,
            "a_m": gm.gather(np.minimum(g1, len(gm) - 1)),
            "a_f": gf.gather(np.minimum(g1, len(gf) - 1)),
            "b_m": gm.gather(np.minimum(g2, len(gm) - 1)),
            "b_f": gf.gather(np.minimum(g2, len(gf) - 1)),
            "two": two,
        }
    )
    return frame.select(
        (
            pl.col("sur")
            + pl.when(pl.col("m")).then(pl.col("a_m")).otherwise(pl.col("a_f"))
            + pl.when(pl.col("two"))
            .then(pl.when(pl.col("m")).then(pl.col("b_m")).otherwise(pl.col("b_f")))
            .otherwise(pl.lit(""))
        ).alias("name")
    )["name"]


def make_resident_ids(rng: np.random.Generator, birth_days: np.ndarray, male: np.ndarray) -> pl.Series:
    """Unique, valid 18-character resident IDs for people with these birth dates and sexes.

    The 3-digit sequence is unique within (address code, birth date, sex): a
    random start per group plus the rank within it, its last digit odd for men.
    """
    n = len(birth_days)
    codes = [c for c, _ in ADDRESS_CODES]
    p = np.array([w for _, w in ADDRESS_CODES])
    addr = rng.choice(len(codes), size=n, p=p / p.sum())
    start = rng.integers(0, 500, n)
    frame = pl.DataFrame(
        {
            "i": np.arange(n, dtype=np.int64),
            "addr": addr.astype(np.int32),
            "birth": pl.Series(birth_days.astype(np.int32)).cast(pl.Date),
            "male": male.astype(bool),
            "start": start,
        }
    )
    grp = ["addr", "birth", "male"]
    frame = frame.with_columns(
        seqv=(
            pl.col("start").first().over(grp, order_by="i") + pl.int_range(pl.len()).over(grp, order_by="i")
        )
        % 500
    )
    seq = pl.col("seqv") * 2 + pl.col("male").cast(pl.Int64)
    first17 = (
        pl.col("addr").replace_strict(dict(enumerate(codes)), return_dtype=pl.String)
        + pl.col("birth").dt.strftime("%Y%m%d")
        + seq.cast(pl.String).str.zfill(3)
    )
    out = frame.select(first17.alias("f17")).select(
        (pl.col("f17") + id_check_char_expr(pl.col("f17"))).alias("id_no")
    )
    return out["id_no"]


def make_accounts(rng: np.random.Generator, n: int, offset: int, rural: np.ndarray) -> pl.DataFrame:
    """Bank name and a unique Luhn-valid account per household.

    The account body is an affine bijection of the household number, so two
    households never share an account unless an anomaly says so.
    """
    names = [b[0] for b in BANKS]
    weights = np.array([b[3] for b in BANKS])
    urban_w = weights.copy()
    urban_w[0] *= 0.45
    pick = np.where(
        rural,
        rng.choice(len(BANKS), size=n, p=weights / weights.sum()),
        rng.choice(len(BANKS), size=n, p=urban_w / urban_w.sum()),
    )
    prefixes = np.array([b[1] for b in BANKS])[pick]
    lengths = np.array([b[2] for b in BANKS])[pick]
    idx = np.arange(n, dtype=np.int64) + offset
    body9 = (idx * 982_451_653 + 123_457) % 1_000_000_000  # bijective mod 10^9
    extra = rng.integers(0, 1000, n)  # 19-digit accounts: 3 more free digits in front
    frame = pl.DataFrame(
        {
            "bank": pl.Series(names, dtype=pl.String).gather(pick),
            "prefix": prefixes,
            "len": lengths,
            "body9": body9,
            "extra": extra,
        }
    )
    payload = (
        pl.when(pl.col("len") == 19)
        .then(
            pl.col("prefix")
            + pl.col("extra").cast(pl.String).str.zfill(3)
            + pl.col("body9").cast(pl.String).str.zfill(9)
        )
        .otherwise(pl.col("prefix") + pl.col("body9").cast(pl.String).str.zfill(9))
    )
    return frame.with_columns(payload=payload).select(
        "bank", (pl.col("payload") + luhn_check_digit_expr(pl.col("payload"))).alias("account_no")
    )


def make_usccs(rng: np.random.Generator, n: int) -> pl.Series:
    """Valid unified social credit codes (GB 32100) for synthetic businesses."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    kinds = np.array(["91", "92", "93", "52"])[rng.choice(4, size=n, p=[0.6, 0.3, 0.05, 0.05])]
    region = np.array(["500110", "500222", "500110"])[rng.integers(0, 3, n)]
    body = rng.integers(0, len(alphabet), size=(n, 9))
    chars = np.ascontiguousarray(np.array(list(alphabet), dtype="<U1")[body])
    body_s = chars.view("<U9").ravel() if n else np.array([], dtype="<U9")
    f = pl.DataFrame({"f17": pl.Series(kinds) + pl.Series(region) + pl.Series(body_s, dtype=pl.String)})
    return f.select((pl.col("f17") + uscc_check_char_expr(pl.col("f17"))).alias("uscc"))["uscc"]


def make_phones(rng: np.random.Generator, n: int) -> pl.Series:
    prefixes = np.array(
        [
            "133",
            "135",
            "136",
            "138",
            "139",
            "150",
            "151",
            "152",
            "158",
            "159",
            "177",
            "180",
            "187",
            "189",
            "199",
        ]
    )
    pre = prefixes[rng.integers(0, len(prefixes), n)]
    rest = rng.integers(0, 100_000_000, n)
    return pl.Series(pre, dtype=pl.String) + pl.Series(rest).cast(pl.String).str.zfill(8)


def make_villages(rng: np.random.Generator, towns: pl.DataFrame) -> dict[str, list[str]]:
    """8–14 villages or communities per town."""
    out: dict[str, list[str]] = {}
    for code, kind, name in towns.select("code", "kind", "name").iter_rows():
        k = int(rng.integers(8, 15))
        stems = rng.choice(len(VILLAGE_STEMS), size=k, replace=False)
        if kind == "街道":
            out[code] = [f"{VILLAGE_STEMS[s]}社区" for s in stems]
        else:
            short = name.removesuffix("镇")
            vs = [f"{VILLAGE_STEMS[s]}村" for s in stems]
            vs[0] = f"{short}社区"
            out[code] = vs
    return out
