"""The Procfile's `web`: uvicorn serving our ASGI front in front of Bolt (see `server.py`)."""
