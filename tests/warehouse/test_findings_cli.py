"""`jiuzhu findings list|show|clear|confirm` (SPEC §5, §8): masked output,
one-line errors with a non-zero exit, two authenticated officers for a blocking
finding (a password or a token, never a typed name), every clearing an audited
run under the account, and no Prefect."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from test_crosscheck import PAYROLL, District, Member, check, extract, make_id
from typer.testing import CliRunner

from core.accounts import AccountStore
from core.home import Home
from jiuzhu.commands.findings import app
from warehouse.connection import open_warehouse

runner = CliRunner()
PASSWORDS = {"GZ001": "officer-one-pass", "GZ002": "officer-two-pass", "clerk": "clerk-a-pass-2025"}


@pytest.fixture
def home(tmp_path) -> Home:
    h = Home(tmp_path).ensure()
    d = District(h)
    a, p = make_id(1), make_id(2)
    d.case("GN-1", [Member(a), Member(p, relation="spouse")], decided_on=date(2024, 3, 1))
    d.case("GN-2", [Member(p)], decided_on=date(2025, 3, 1))
    extract(h, "public_payroll", "2025-06-30", PAYROLL, f"{a},綦江中学,2019-03-01")
    check(h)
    store = AccountStore.for_home(h)
    store.add("GZ001", "officer", PASSWORDS["GZ001"])
    store.add("GZ002", "officer", PASSWORDS["GZ002"])
    store.add("clerk", "clerk", PASSWORDS["clerk"], town_code="500110001")
    return h


def cli(home: Home, *args: str, password: str | None = None, token: str | None = None):
    env = {"JIUZHU_TOKEN": token} if token else {"JIUZHU_TOKEN": "", "JIUZHU_USER": ""}
    return runner.invoke(app, [*args, "--home", str(home.root)], input=f"{password}\n" if password else None,
                         env=env)


def token_of(home: Home, user: str) -> str:
    store = AccountStore.for_home(home)
    return store.issue_token(store.authenticate(user, PASSWORDS[user]))


def fid(home: Home, rule: str, case_no: str) -> str:
    with open_warehouse(home, flow="test") as con:
        return con.execute(
            "SELECT finding_id FROM checks.findings WHERE rule_id = ? AND case_no = ?", [rule, case_no]
        ).fetchall()[0][0]


def test_list_masks_members_and_filters(home):
    result = cli(home, "list", "--rule", "X")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "共 3 条"
    assert all(make_id(1) not in line and make_id(2) not in line for line in lines)
    assert any("X05" in line and "5001**********" in line for line in lines)
    assert any("X08" in line and "暂停发放" in line for line in lines)
    one = cli(home, "list", "--rule", "X05", "--json")
    assert one.exit_code == 0 and one.output.count("\n") == 1 and '"member": "5001' in one.output


def test_clear_then_confirm_blocking_with_two_authenticated_officers(home):
    x08 = fid(home, "X08", "GN-2")
    first = cli(home, "clear", x08[:12], "--user", "GZ001", "--reason", "同一人重复纳入，已停发另一案",
                password=PASSWORDS["GZ001"])
    assert first.exit_code == 0 and "须由另一名人员确认" in first.output, first.output
    same = cli(home, "confirm", x08, token=token_of(home, "GZ001"))
    assert same.exit_code == 1 and same.output.count("\n") == 1 and same.output.startswith("jiuzhu: ")
    assert "两名不同人员" in same.output
    pending = cli(home, "list", "--status", "pending")
    assert x08 in pending.output and "共 1 条" in pending.output
    ok = cli(home, "confirm", x08, token=token_of(home, "GZ002"))
    assert ok.exit_code == 0 and "已确认解除" in ok.output, ok.output
    shown = cli(home, "show", x08)
    assert "解除人：GZ001" in shown.output and "确认人：GZ002" in shown.output
    assert "finding_clear_confirmed" in shown.output and make_id(2) not in shown.output
    with open_warehouse(home, flow="test") as con:
        runs = con.execute(
            "SELECT flow, status, json_extract_string(params_json, '$.user'), json_extract_string(params_json, "
            "'$.via') FROM audit.runs WHERE flow LIKE 'findings%' ORDER BY started_at"
        ).fetchall()
    assert runs == [
        ("findings-clear", "completed", "GZ001", "cli-password"),
        ("findings-confirm", "failed", "GZ001", "cli-token"),
        ("findings-confirm", "completed", "GZ002", "cli-token"),
    ]


def test_a_typed_name_is_no_identity(home):
    x05 = fid(home, "X05", "GN-1")
    for args, kw in (
        (["clear", x05, "--officer", "GZ001", "--reason", "x"], {}),  # the old way: refused
        (["clear", x05, "--reason", "x"], {}),  # nobody authenticated
        (["clear", x05, "--user", "GZ001", "--reason", "x"], {"password": "not-the-password"}),
        (["clear", x05, "--user", "nobody", "--reason", "x"], {"password": "whatever-it-is"}),
        (["clear", x05, "--reason", "x"], {"token": "jzt_forged"}),
        (["clear", x05, "--user", "clerk", "--reason", "x"], {"password": PASSWORDS["clerk"]}),  # not an officer
    ):
        result = cli(home, *args, **kw)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().splitlines()[-1].startswith("jiuzhu: "), result.output
    with open_warehouse(home, flow="test") as con:
        assert con.execute("SELECT status FROM checks.findings WHERE finding_id = ?", [x05]).fetchall() == [("open",)]


def test_errors_are_one_line_with_non_zero_exit(home, tmp_path):
    x05 = fid(home, "X05", "GN-1")
    token = token_of(home, "GZ001")
    for args in (
        ["clear", "not-an-id", "--reason", "x"],
        ["clear", "ffffffffffff", "--reason", "x"],
        ["show", "ffffffffffff"],
        ["list", "--status", "weird"],
    ):
        result = cli(home, *args, token=token)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.count("\n") == 1 and result.output.startswith("jiuzhu: "), result.output
    cleared = cli(home, "clear", x05, "--reason", "编制内人员已退休", token=token)
    assert cleared.exit_code == 0 and "已解除" in cleared.output
    empty = runner.invoke(app, ["list", "--home", str(tmp_path / "nowhere")])
    assert empty.exit_code == 1 and "no warehouse" in empty.output


def test_findings_commands_do_not_import_prefect(home):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from jiuzhu.commands.findings import app\n"
        f"r = CliRunner().invoke(app, ['list', '--home', {str(home.root)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
