/// # ParleySim — app back-end simulators
///
/// Stand-ins for the WhatsApp Cloud API, the Messenger Platform and Instagram Messaging. A bridge node plays
/// the *business*; every remote contact appears in the app as a business account id (WhatsApp
/// `phone_number_id`, Messenger Page id, Instagram account id). Account ids are opaque and need no
/// registration; users must be created first (`POST /sim/users`), and the send API answers "unknown
/// recipient" for anyone else.
///
/// ## Native send API (Bearer token, or `?access_token=`)
/// `POST /{account}/messages` and `POST /v{N}.0/{account}/messages`.
/// - WhatsApp: text (`text.body` ≤ 4096 characters), reply (`context.message_id`), reaction (`emoji` ""/absent
///   removes), image/video/audio/document/sticker by `link` (http/https) or `id`, group sends
///   (`recipient_type: "group"`), mark-read (`status: "read"`, `message_id`). Answers
///   `{"messaging_product","contacts":[{"input","wa_id"}],"messages":[{"id":"wamid.…"}]}`; then `sent` and
///   `delivered` statuses (reactions: `sent` only) and `read` when the user reads.
/// - Messenger / Instagram: `recipient.id` + `message.text` (Messenger ≤ 2000 characters, Instagram ≤ 1000
///   UTF-8 bytes) or `message.attachment{type,payload{url|attachment_id}}`, top-level `reply_to.mid`;
///   `sender_action` typing_on/typing_off/mark_seen/react/unreact. Answers `{"recipient_id","message_id"}`;
///   Messenger then sends `delivery{mids,watermark}` and `read{watermark}` when the user reads; Instagram sends
///   `read{mid}` per message when the user reads (it has no delivery receipts).
/// - Errors use the Graph shape `{"error":{"message","type":"OAuthException","code",…,"fbtrace_id"}}`:
///   401 code 190 (bad token) / 2500 (no token); unknown recipient → WhatsApp 131026, Messenger 100/2018001,
///   Instagram 100/2534014; other validation → 100.
///
/// ## Parley extension (the real APIs have nothing like it)
/// The bridge reports the fate of a user's OWN message (one the user sent to the business) in the other app:
/// - WhatsApp: `{"messaging_product":"whatsapp","status":"delivered"|"read"|"failed","message_id":ID,"errors":[{"code","message"}]}`
///   on the messages endpoint (`read` is also the ordinary mark-read).
/// - Messenger / Instagram: `{"recipient":{"id":USER},"sender_action":"mark_delivered"|"mark_seen"|"mark_failed",
///   "payload":{"message_id":ID,"error":{"code","message"}}}`.
/// The simulator stores it as the status of that message (`SimMessage.status`, `errorCode`, `errorMessage`),
/// visible through `GET /sim/users/{user}/messages` → `sent[]`. Statuses never move backwards, except to `failed`.
/// A failure's string reason code (e.g. `policy.recipient_no_consent`) is kept at the front of `errorMessage`.
///
/// Idempotent sends: a request with `X-Parley-Idempotency-Key` that repeats an earlier key for the same account gets
/// the first answer back and creates nothing (the node names each send after its envelope, so a send retried after a
/// crash is not shown twice).
///
/// ## Webhooks
/// Native bodies (WhatsApp `entry[].changes[].value` with string-second timestamps; Messenger `object: page` /
/// Instagram `object: instagram` with `entry[].messaging[]` and millisecond timestamps), Meta-style escaped
/// (`\uXXXX`, `\/`), signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`. Updates wait up
/// to `batchWindow` to share a POST (at most `maxBatch` per POST, one account per POST). Each account's POSTs
/// go out in order; a POST is retried with exponential backoff (honouring `Retry-After`) until the node answers
/// 200. The queue is in SQLite, so a restarted simulator keeps retrying.
/// User edits: WhatsApp `type:"unsupported"` + `unsupported.type:"edit"` (no text, as the real API does),
/// Messenger `message_edit`, Instagram nothing. Deletes: WhatsApp `revoke`, Messenger/Instagram `is_deleted`.
///
/// ## Scripting API (no auth; never affected by faults)
/// | Method and path | Body | Answer |
/// |---|---|---|
/// | `POST /sim/users` | `{"id","name"?}` | `SimUser` (201) |
/// | `GET /sim/users` | | `[SimUser]` |
/// | `POST /sim/groups` (WhatsApp) | `{"id","members":[…]}` | 201 |
/// | `POST /sim/users/{u}/send` | `{"to","text"?,"replyTo"?,"url"?,"kind"?,"caption"?,"group"?}` | `SimActionResult` |
/// | `POST /sim/users/{u}/react` / `unreact` | `{"to","messageId","emoji"}` | `SimActionResult` |
/// | `POST /sim/users/{u}/edit` | `{"messageId","text"}` | `SimActionResult` |
/// | `POST /sim/users/{u}/delete` | `{"messageId"}` | `SimActionResult` |
/// | `POST /sim/users/{u}/read` | `{"from","upTo"?}` | `SimActionResult` |
/// | `GET /sim/users/{u}/messages` | | `SimMailbox` (`inbox`, `sent`) |
/// | `GET /sim/deliveries` | | `[SimWebhookDelivery]` |
/// | `POST /sim/flush` | | batch pending updates now |
/// | `POST /sim/verify` | | `{"ok"}`: the node's GET hub.challenge handshake |
/// | `POST /sim/faults` | `SimFault` | arms `error500`, `rateLimit` (429 + Retry-After), `slow`, `drop`, `down` (for `delayMs`); `reorderWebhooks`: webhook POSTs wait until none has formed for `delayMs` (500), then go out newest first, each retried independently (`count` = POST attempts) |
/// | `DELETE /sim/faults`, `GET /sim/faults` | | clear / list |
/// | `GET /sim/health` | | `{"app","pendingWebhooks"}` |
/// Errors: `{"error":{"code","message"}}` with 400/404/500.
public enum ParleySimAPI {}
