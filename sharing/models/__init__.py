"""Models of the sharing app, one module per concern:
- events.py: the event outbox and its deliveries (inbox, e-mail, webhooks) — issue 5;
- requests.py: sharing requests, grants, filings, disputes — issue 4.
"""

from .events import *  # noqa: F403
from .requests import *  # noqa: F403
