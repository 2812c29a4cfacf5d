"""Talking to Capillary's loyalty API: the HTTP client, its authentication, and the response models."""
