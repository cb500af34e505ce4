"""Plate Recognizer Snapshot API (specs 002/003): /v1/plate-reader/, /info/, /v1/statistics/, webhooks."""
