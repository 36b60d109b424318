"""Sharing requests, grants, filings and disputes (issue 4)."""

__all__: list[str] = []
