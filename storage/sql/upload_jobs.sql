-- Catalog upload jobs of the HTTP API (see storage/upload_jobs.py).

-- name: insert_upload_job
-- A stored upload, waiting to be processed.
INSERT INTO catalog_upload_jobs
    (merchant_id, object_key, file_name, file_sha256, options, created_by)
VALUES (%(merchant_id)s, %(object_key)s, %(file_name)s, %(file_sha256)s, %(options)s,
        %(created_by)s)
RETURNING *;

-- name: find_upload_job
-- One job of one merchant (another merchant's reads as missing).
SELECT * FROM catalog_upload_jobs
WHERE job_id = %(job_id)s AND merchant_id = %(merchant_id)s;

-- name: waiting_upload_jobs
-- Jobs not processed yet, oldest first (some may be held by another process).
SELECT job_id FROM catalog_upload_jobs WHERE status = 'processing' ORDER BY job_id
LIMIT 100;

-- name: lock_upload_job
-- Hold the job for this session; false when another process holds it.
SELECT pg_try_advisory_lock(17017, (%(job_id)s %% 2147483647)::int) AS locked;

-- name: unlock_upload_job
SELECT pg_advisory_unlock(17017, (%(job_id)s %% 2147483647)::int) AS unlocked;

-- name: waiting_upload_job
-- The job, if it is still waiting (another process may have finished it meanwhile).
SELECT * FROM catalog_upload_jobs WHERE job_id = %(job_id)s AND status = 'processing';

-- name: finish_upload_job
-- What came of the job: the upload's result or the problem document.
UPDATE catalog_upload_jobs
SET status = CASE WHEN %(problem)s::jsonb IS NULL THEN 'processed' ELSE 'failed' END,
    result = %(result)s, problem = %(problem)s, finished_at = now()
WHERE job_id = %(job_id)s AND status = 'processing';
