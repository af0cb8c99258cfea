"""Candidates: students, job-board entries, dedupe and university ranks (tenant schema)."""
