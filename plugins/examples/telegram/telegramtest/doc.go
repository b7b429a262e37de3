// Package telegramtest is a fake Telegram Bot API server for tests: no
// network is available where the tests run, so this speaks the Bot API's
// documented JSON (https://core.telegram.org/bots/api) on loopback —
// getUpdates with offset confirmation and long polling, sendMessage,
// getMe, setWebhook/deleteWebhook — with the same semantics the real API
// documents: an update is confirmed (and never returned again) once
// getUpdates is called with an offset greater than its update_id.
package telegramtest
