"""The admin dashboard at /manage/ (DESIGN.md): domains, accounts, aliases,
quotas, the outbound queue, DNS and the audit log, for superusers and
domain admins.

Views are thin: they parse forms and call the store's admin functions
(mailboxes/store/admin*.py), which decide who may see and change what.
Every view goes through access.dashboard_view (login, role, error mapping);
every form posts with a CSRF token; pages carry a script-free CSP.
"""
