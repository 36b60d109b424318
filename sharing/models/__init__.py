"""Models of the sharing app, one module per concern:
- notifications.py: the deliveries of the event outbox (inbox, e-mail, webhooks);
- requests.py: sharing requests, grants, filings, disputes — issue 4.
"""

from .notifications import *  # noqa: F403
from .requests import *  # noqa: F403
