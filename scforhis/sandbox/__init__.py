"""The sandbox: a local stand-in of the service (starlette app, service logic, SQLite store,
tokens, programme rules, settings). Needs the `sandbox` extra (starlette, uvicorn)."""
