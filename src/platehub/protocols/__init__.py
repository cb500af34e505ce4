"""One package per wire protocol: each translates wire bytes to domain objects and back."""
