"""fp serve: the HTTP service (FastAPI on uvicorn) over one reference library."""
