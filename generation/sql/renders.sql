-- name: plan_render_job
-- Record a render request once; re-planning the same request hash is a no-op.
INSERT INTO render_jobs (request_hash, merchant_id, product_id, model, profile, spec)
VALUES (%(request_hash)s, %(merchant_id)s, %(product_id)s, %(model)s, %(profile)s, %(spec)s)
ON CONFLICT (request_hash) DO NOTHING
RETURNING request_hash;

-- name: get_render_jobs
-- The jobs named, with the product fields a renderer needs.
SELECT j.*, p.title, p.price, p.currency, p.image_key, p.image_status, p.image_error,
       p.brand, p.product_category, p.sale_price, p.description
FROM render_jobs j
JOIN products p USING (merchant_id, product_id)
WHERE j.request_hash = ANY(%(request_hashes)s::text[])
ORDER BY j.request_hash;

-- name: mark_render_jobs
-- Move jobs to a new status (queued, done, failed), counting attempts on failure; a
-- warning says what a done render lacked.
UPDATE render_jobs
SET status = %(status)s, error = %(error)s, warning = %(warning)s, updated_at = now(),
    attempts = attempts + CASE WHEN %(status)s = 'failed' THEN 1 ELSE 0 END
WHERE request_hash = ANY(%(request_hashes)s::text[]);

-- name: count_render_jobs_by_status
-- How far a set of jobs has got.
SELECT status, count(*) AS jobs
FROM render_jobs
WHERE request_hash = ANY(%(request_hashes)s::text[])
GROUP BY status;

-- name: failed_render_errors
-- The errors of the failed jobs among a set, for the run summary.
SELECT request_hash, product_id, error FROM render_jobs
WHERE request_hash = ANY(%(request_hashes)s::text[]) AND status = 'failed'
ORDER BY product_id;

-- name: pending_render_jobs
-- The jobs among a set that still need rendering.
SELECT request_hash FROM render_jobs
WHERE request_hash = ANY(%(request_hashes)s::text[]) AND status <> 'done';

-- name: record_usage
-- One usage row per successful render; a redelivered render records nothing new.
INSERT INTO render_usage (request_hash, merchant_id, campaign_id, model, profile, width, height,
                          frames, tokens)
VALUES (%(request_hash)s, %(merchant_id)s, %(campaign_id)s, %(model)s, %(profile)s, %(width)s,
        %(height)s, %(frames)s, %(tokens)s)
ON CONFLICT (request_hash) DO NOTHING;

-- name: usage_for_renders
-- Usage rows of a set of renders.
SELECT * FROM render_usage WHERE request_hash = ANY(%(request_hashes)s::text[])
ORDER BY request_hash;
