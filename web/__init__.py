"""The workbench: a small server-rendered web app for town clerks, district officers and
auditors (issue 17; docs/workbench.md). `web.app.create_app` builds it; `jiuzhu web` serves it."""
