-- API keys and Idempotency-Key replays (see storage/keys.py).

-- name: insert_api_key
-- A new key: only its hash and prefix are kept.
INSERT INTO api_keys (key_sha256, prefix, role, merchant_id, name)
VALUES (%(key_sha256)s, %(prefix)s, %(role)s, %(merchant_id)s, %(name)s)
RETURNING key_id, prefix, role, merchant_id, name, created_at;

-- name: list_api_keys
-- Every key, newest first, without its hash.
SELECT key_id, prefix, role, merchant_id, name, created_at, revoked_at, last_used_at
FROM api_keys ORDER BY key_id DESC;

-- name: revoke_api_key
-- Revoke a key (a second revoke keeps the first time); returns it, or nothing if unknown.
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE key_id = %(key_id)s
RETURNING key_id, prefix, role, merchant_id, name, created_at, revoked_at, last_used_at;

-- name: use_api_key
-- The live key with this hash, recording its use (at most once a second per key, so
-- that a busy key does not rewrite its row on every request).
UPDATE api_keys SET last_used_at = now()
WHERE key_sha256 = %(key_sha256)s AND revoked_at IS NULL
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 second')
RETURNING key_id, role, merchant_id;

-- name: find_live_api_key
-- The live key with this hash (its use was recorded within the last second).
SELECT key_id, role, merchant_id FROM api_keys
WHERE key_sha256 = %(key_sha256)s AND revoked_at IS NULL;

-- name: find_live_api_key_by_id
-- The live key with this id (a console session names its key by id).
SELECT key_id, role, merchant_id FROM api_keys
WHERE key_id = %(key_id)s AND revoked_at IS NULL;

-- name: find_idempotent_response
-- The first response to this Idempotency-Key of this API key, if any.
SELECT request_sha256, status_code, response FROM api_idempotency
WHERE key_id = %(key_id)s AND idempotency_key = %(idempotency_key)s;

-- name: save_idempotent_response
-- Keep the first response; a concurrent first request with the same key keeps its own.
INSERT INTO api_idempotency (key_id, idempotency_key, request_sha256, status_code, response)
VALUES (%(key_id)s, %(idempotency_key)s, %(request_sha256)s, %(status_code)s, %(response)s)
ON CONFLICT (key_id, idempotency_key) DO NOTHING;

-- name: notify_key_revoked
-- Tell every API process's key cache (LISTEN adreel_api_keys) to forget this key; sent
-- when the revoking transaction commits.
SELECT pg_notify('adreel_api_keys', %(key_id)s::text);

-- name: record_key_use
-- Last uses kept in memory by an API process, written in one statement every few
-- seconds; a later time already recorded (another process) is kept.
UPDATE api_keys AS k SET last_used_at = greatest(k.last_used_at, u.used_at)
FROM unnest(%(key_ids)s::bigint[], %(used_at)s::timestamptz[]) AS u(key_id, used_at)
WHERE k.key_id = u.key_id;
