"""Webhook subscriptions and their delivery (Standard Webhooks signatures, SSRF guard).

Modules, in the order a message travels: `routes` (subscriptions API), `outbox`
(queueing inside the alert transaction), `dispatcher` (claim, send, retry),
`attempts` (what a result does), `transport` (one HTTP request), `ssrf` (where we may
connect), `signing` (signatures), `models` (tables). Their settings are
`shared.settings.WebhookSettings` (`PANTAU_WEBHOOK_*`).
"""
