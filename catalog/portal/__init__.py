"""The staff web portal (issue 7): server-rendered pages for the people of SPEC §1.

This package holds the catalog's pages, the plumbing and layout every portal page shares
(views.page/portal_view, templates/portal/base.html, static/portal/) and generic helpers
(deadlines, charts, display); the pages of the app above (requests, desk, grants, inbox)
live in sharing/portal/, and nothing here depends on them. Views are thin: visibility comes
from the policy querysets (404 outside them), actions from catalog.policies.can (403), every
write from a service function."""
