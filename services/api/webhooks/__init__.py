"""Webhook subscriptions and their delivery (Standard Webhooks signatures, SSRF guard).

Subscriptions are managed through `services.api.routes.subscriptions`. Modules here, in
the order a message travels: `outbox` (queueing inside the alert transaction),
`dispatcher` (claim, send, retry), `attempts` (what a result does), `transport` (one HTTP
request), `ssrf` (where we may connect), `signing` (signatures), `models` (tables).
Their settings are `shared.settings.WebhookSettings` (`PANTAU_WEBHOOK_*`).
"""
