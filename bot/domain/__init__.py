"""The bot's domain: coupons, their states, a customer's summary, and what a button carries. No I/O here;
renderers (`blocks/`) import only this package."""
