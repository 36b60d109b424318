from .admin_events import *  # noqa: F403
from .admin_requests import *  # noqa: F403
