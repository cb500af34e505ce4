"""The domain: plate reads, their store, the bus, users, tokens and webhooks."""
