-- 0017: catalog uploads over the HTTP API are processed in the background. The file is
-- stored first (object store), then a job row says where it is and, once an API
-- process has run it, what came of it: the upload's counts, or the problem document.
-- The process running a job holds an advisory lock on it, so that another process
-- takes the job over if that one dies.
CREATE TABLE catalog_upload_jobs (
    job_id      bigserial PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants,
    object_key  text NOT NULL,
    file_name   text NOT NULL,
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    options     jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'processing'
                CHECK (status IN ('processing', 'processed', 'failed')),
    result      jsonb,
    problem     jsonb,
    created_by  bigint REFERENCES api_keys,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((status = 'processing') = (finished_at IS NULL)),
    CHECK ((status = 'processed') = (result IS NOT NULL)),
    CHECK ((status = 'failed') = (problem IS NOT NULL))
);
CREATE INDEX catalog_upload_jobs_waiting ON catalog_upload_jobs (job_id)
    WHERE status = 'processing';
