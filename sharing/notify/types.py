"""The event types people are told of, with their labels: sharing.event_texts (below the API,
which reads them too), re-exported for the delivery's modules."""

from __future__ import annotations

from sharing.event_texts import EVENT_TYPES, event_type_label

__all__ = ["EVENT_TYPES", "event_type_label"]
