"""Reliability: crashes, races, gateway faults, hostile input, Slack outages, bad data."""
