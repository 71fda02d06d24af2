"""Run the service with uvicorn (what `fp serve` calls)."""
from __future__ import annotations

import uvicorn

from .app import create_app
from .settings import ServiceSettings


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    """Serve until interrupted. One process: the worker thread inside it owns the loaded library."""
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, access_log=False,
                timeout_graceful_shutdown=10)
