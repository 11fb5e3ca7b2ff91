"""A local stand-in for Slack (its Web API, and its requests signed the way Slack signs them),
shared by the benchmarks and the tests, so neither depends on the other."""
