"""Pydantic shapes of the public API (CONTRACT.md): shared by the HTTP layer and the services."""
