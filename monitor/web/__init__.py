"""The read-only web view (`policy-monitor serve`): pages, JSON API and feed over the database."""
