"""Seller alerts on chat and mail channels (Telegram, WhatsApp, email, web push).

Subscriptions are made from the seller page without an account and identified by an
unguessable token; their deliveries sit in an outbox of their own that the webhook
dispatcher claims and sends through one `Channel` per medium.
"""
