"""Models of the sharing app, one module per concern:
- notifications.py: the deliveries of the event outbox (inbox, e-mail, webhooks);
- requests.py: sharing requests, grants, filings — issue 4;
- disputes.py: Art. 51 disputes over refusals, overdue answers, revocations and source conflicts;
- objections.py: data-quality objections and corrections (Art. 16-17, 41-43);
- grant_changes.py: revocations, narrowings, suspensions and extensions waiting for a decision (Order 809).
- demands.py: the data demand list and its answers (Art. 22).
- completeness.py: the data authority's consent to a second return for missing material (Order 809).
- filing_reads.py: 已阅 marks of the filings a data authority received.
"""

from .completeness import *  # noqa: F403
from .demands import *  # noqa: F403
from .disputes import *  # noqa: F403
from .filing_reads import *  # noqa: F403
from .grant_changes import *  # noqa: F403
from .notifications import *  # noqa: F403
from .objections import *  # noqa: F403
from .requests import *  # noqa: F403
