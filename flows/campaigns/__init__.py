"""Campaigns: what an account manager sets up, and the flow that renders and delivers it."""
