"""Tiers and rates, projects, the dashboard, time tracking, the earnings ledger and payouts."""
