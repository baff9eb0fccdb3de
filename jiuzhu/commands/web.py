"""`jiuzhu web`: serve the workbench (issue 17; docs/workbench.md) with uvicorn.

One process (the workbench keeps its snapshot and its queue applier in it); threads serve
the pages. It listens on 127.0.0.1 by default: put it behind the bureau's HTTPS reverse
proxy for the towns, with --secure-cookies. The access log is the workbench's own (path,
status, role), never uvicorn's (which would log query strings). Never imports Prefect.
"""

from __future__ import annotations

from typing import Annotated

import typer

from core.home import Home, parse_as_of
from jiuzhu.commands import AsOfOpt, HomeOpt, fail

app = typer.Typer(name="web", help="The workbench: a web app for town clerks, district officers and auditors.",
                  add_completion=False, pretty_exceptions_enable=False, invoke_without_command=True)


@app.callback()
def web(
    home: HomeOpt = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8800,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (a reverse proxy's side).")] = "127.0.0.1",
    as_of: AsOfOpt = None,
    idle_minutes: Annotated[float, typer.Option("--idle-minutes", min=1, help="A session ends after this idle time.")]
    = 30,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Cookies only over HTTPS (behind TLS).")]
    = False,
    trust_proxy: Annotated[bool, typer.Option(
        "--trust-proxy", help="Take the client address from X-Forwarded-For of a reverse proxy on 127.0.0.1 "
                              "(sign-in throttling per client).")] = False,
) -> None:
    """Serve the workbench on http://HOST:PORT/ until interrupted."""
    import logging

    import uvicorn

    from core.accounts import AccountStore
    from core.permissions import restrict_umask
    from web.app import create_app

    restrict_umask()
    h = Home.resolve(home)
    try:
        day = parse_as_of(as_of)
    except ValueError:
        fail(f"--as-of must be YYYY-MM-DD, got {as_of!r}")
    if not AccountStore.for_home(h).exists():
        fail(f"no workbench accounts in {h.root} yet: create one with `jiuzhu users add NAME --role officer`")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        application = create_app(h, as_of=day, idle_minutes=idle_minutes, secure_cookies=secure_cookies)
    except Exception as exc:  # noqa: BLE001 - one line, like every command
        fail(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    typer.echo(f"workbench on http://{host}:{port}/ (data home {h.root}); Ctrl+C stops it")
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning",
                proxy_headers=trust_proxy, forwarded_allow_ips="127.0.0.1", server_header=False)
