"""The staff web portal (issue 7): server-rendered pages for the people of SPEC §1.

Views are thin: visibility comes from the policy querysets (404 outside them), actions from
catalog.policies.can (403), every write from a service function."""
