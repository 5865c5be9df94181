-- 0001: merchants, their products, render jobs and the assets they produced.
-- Every row is scoped by merchant_id (tenancy); natural keys make replays no-ops.

CREATE TABLE merchants (
    merchant_id      text PRIMARY KEY CHECK (merchant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name             text NOT NULL,
    default_currency char(3) NOT NULL DEFAULT 'USD' CHECK (default_currency ~ '^[A-Z]{3}$'),
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    merchant_id      text NOT NULL REFERENCES merchants,
    product_id       text NOT NULL CHECK (length(product_id) BETWEEN 1 AND 50),
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    link             text,
    image_link       text,
    -- Object-store key of the product image adreel keeps, so remote workers can read it.
    image_key        text,
    price            numeric NOT NULL CHECK (price > 0),
    currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    brand            text,
    product_category text,
    attributes       jsonb NOT NULL DEFAULT '{}',
    -- Hash of the canonical product: an upsert with the same hash changes nothing.
    content_hash     text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, product_id)
);

CREATE TABLE render_jobs (
    -- Hash of model, inputs, seed and profile: the same request is rendered once.
    request_hash text PRIMARY KEY,
    merchant_id  text NOT NULL,
    product_id   text NOT NULL,
    model        text NOT NULL,
    profile      text NOT NULL,
    spec         jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'planned'
                 CHECK (status IN ('planned', 'queued', 'done', 'failed')),
    error        text,
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (merchant_id, product_id) REFERENCES products
);
CREATE INDEX render_jobs_merchant_status ON render_jobs (merchant_id, status);

CREATE TABLE assets (
    asset_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants,
    product_id   text NOT NULL,
    request_hash text NOT NULL REFERENCES render_jobs,
    variant      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('video', 'poster')),
    object_key   text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    content_type text NOT NULL,
    width        integer,
    height       integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, request_hash, variant, kind)
);
CREATE INDEX assets_merchant ON assets (merchant_id, created_at);
