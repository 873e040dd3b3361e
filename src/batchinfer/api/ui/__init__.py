"""The job dashboard: a read model over every dialect's jobs, its JSON API and static pages."""
