"""Qualification assessments: content, attempts, scoring, grading and decisions."""
