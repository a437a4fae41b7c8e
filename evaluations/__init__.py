"""Evaluation forms, tasks, work distribution, submissions, reviews, aggregation and export."""
