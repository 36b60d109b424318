"""Sharing requests, grants, filings, disputes, events and notifications (issue 4–5)."""
