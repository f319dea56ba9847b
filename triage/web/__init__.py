"""The staff web UI: server-rendered pages on Starlette, served by uvicorn (issue 9)."""
