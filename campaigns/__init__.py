"""Campaigns: the spec an account manager writes, planning into render jobs, budgets and
token holds, preview decisions, delivery and its manifest."""
