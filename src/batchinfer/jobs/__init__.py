"""Batch jobs, dialect-neutral: what a job is, how it is planned, stored and reported."""
