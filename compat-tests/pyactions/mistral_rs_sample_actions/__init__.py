"""Sample mistral-lib actions used by the mistral-rs compat tests and benchmark."""
