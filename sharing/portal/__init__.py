"""The sharing pages of the portal: requests, the approver's desk, grants, the inbox, and the
data authority's filings, disputes and dashboard (NetBox's way: each app owns its pages;
the shared layout, static files and plumbing are the catalog's, catalog/portal/)."""
