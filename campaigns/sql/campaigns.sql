-- name: upsert_campaign
-- Create a campaign, or replace its file (the merchant cannot change).
INSERT INTO campaigns (campaign_id, merchant_id, spec)
VALUES (%(campaign_id)s, %(merchant_id)s, %(spec)s)
ON CONFLICT (campaign_id) DO UPDATE
SET spec = EXCLUDED.spec, updated_at = now()
WHERE campaigns.merchant_id = EXCLUDED.merchant_id
RETURNING campaign_id, (xmax = 0) AS created;

-- name: get_campaign
SELECT * FROM campaigns WHERE campaign_id = %(campaign_id)s;

-- name: list_campaigns
-- Campaigns with their latest run and how many rendered previews await a decision,
-- optionally of one merchant.
SELECT c.*, r.status AS last_status, r.started_at AS last_started_at,
       w.awaiting_review
FROM campaigns c
LEFT JOIN LATERAL (
    SELECT status, started_at FROM campaign_runs
    WHERE campaign_id = c.campaign_id ORDER BY run_id DESC LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS awaiting_review FROM campaign_materials m
    JOIN assets a ON a.request_hash = m.preview_hash AND a.kind = 'video'
    WHERE m.campaign_id = c.campaign_id AND m.decision = 'pending'
) w ON true
WHERE %(merchant_id)s::text IS NULL OR c.merchant_id = %(merchant_id)s
ORDER BY c.merchant_id, c.campaign_id;

-- name: scheduled_campaigns
SELECT * FROM campaigns WHERE cron IS NOT NULL ORDER BY campaign_id;

-- name: set_campaign_schedule
UPDATE campaigns SET cron = %(cron)s, timezone = %(timezone)s, updated_at = now()
WHERE campaign_id = %(campaign_id)s;

-- name: select_campaign_products
-- The live products a campaign's filters choose. One without an image (none in the feed,
-- or its fetch failed) renders on a plain card; one whose image is still to be fetched
-- (`catalog upload --images defer`) waits for it.
SELECT * FROM products
WHERE merchant_id = %(merchant_id)s
  AND removed_at IS NULL
  AND image_status <> 'pending'
  AND (%(product_ids)s::text[] IS NULL OR product_id = ANY(%(product_ids)s::text[]))
  AND (%(categories)s::text[] IS NULL OR EXISTS (
        SELECT 1 FROM unnest(%(categories)s::text[]) AS c(prefix)
        WHERE lower(coalesce(product_category, '')) LIKE lower(c.prefix) || '%%'
           OR lower(coalesce(product_type, '')) LIKE lower(c.prefix) || '%%'))
  AND (%(brands)s::text[] IS NULL
       OR lower(coalesce(brand, '')) = ANY(SELECT lower(b) FROM unnest(%(brands)s::text[]) b))
  AND (%(price_min)s::numeric IS NULL OR price >= %(price_min)s::numeric)
  AND (%(price_max)s::numeric IS NULL OR price <= %(price_max)s::numeric)
  AND (%(availability)s::text[] IS NULL OR availability = ANY(%(availability)s::text[]))
  AND (%(custom_labels)s::text[] IS NULL OR custom_labels ?| %(custom_labels)s::text[])
  AND (%(changed_since)s::timestamptz IS NULL OR updated_at > %(changed_since)s::timestamptz)
ORDER BY product_id;

-- name: last_finished_run
-- When the campaign's last run that got past rendering started ("changed since" cut-off).
SELECT max(started_at) AS started_at FROM campaign_runs
WHERE campaign_id = %(campaign_id)s AND status IN ('awaiting_approval', 'delivered');

-- name: upsert_material
-- A planned material; planning it again keeps the decision and the final.
INSERT INTO campaign_materials (campaign_id, product_id, template, format, variant, locale,
                                priority, preview_hash)
VALUES (%(campaign_id)s, %(product_id)s, %(template)s, %(format)s, %(variant)s, %(locale)s,
        %(priority)s, %(preview_hash)s)
ON CONFLICT (campaign_id, product_id, template, format, variant, locale) DO UPDATE
SET priority = EXCLUDED.priority,
    -- a changed product makes a new preview, and the old decision no longer applies
    preview_hash = EXCLUDED.preview_hash,
    decision = CASE WHEN campaign_materials.preview_hash = EXCLUDED.preview_hash
                    THEN campaign_materials.decision ELSE 'pending' END,
    final_hash = CASE WHEN campaign_materials.preview_hash = EXCLUDED.preview_hash
                      THEN campaign_materials.final_hash END,
    delivered_at = CASE WHEN campaign_materials.preview_hash = EXCLUDED.preview_hash
                        THEN campaign_materials.delivered_at END;

-- name: campaign_materials
-- Every material of a campaign with its product's title, its preview and final assets
-- (videos and posters) and render state.
SELECT m.*, p.title AS product_title, pj.status AS preview_status, pj.error AS preview_error,
       pv.asset_id AS preview_asset_id, pp.object_key AS preview_poster_key,
       fj.status AS final_status, fj.error AS final_error,
       fv.asset_id AS final_asset_id, fv.object_key AS final_object_key,
       fp.object_key AS final_poster_key,
       pv.qa_status AS preview_qa_status, pv.qa_reasons AS preview_qa_reasons,
       fv.qa_status AS final_qa_status, fv.qa_reasons AS final_qa_reasons
FROM campaign_materials m
JOIN render_jobs pj ON pj.request_hash = m.preview_hash
-- the product's title, for labels (removed products keep their rows)
LEFT JOIN products p ON p.merchant_id = pj.merchant_id AND p.product_id = m.product_id
LEFT JOIN assets pv ON pv.request_hash = m.preview_hash AND pv.kind = 'video'
LEFT JOIN assets pp ON pp.request_hash = m.preview_hash AND pp.kind = 'poster'
LEFT JOIN render_jobs fj ON fj.request_hash = m.final_hash
LEFT JOIN assets fv ON fv.request_hash = m.final_hash AND fv.kind = 'video'
LEFT JOIN assets fp ON fp.request_hash = m.final_hash AND fp.kind = 'poster'
WHERE m.campaign_id = %(campaign_id)s
ORDER BY m.priority;

-- name: decide_materials
-- Approve or reject previews by their video asset ids (all of them when none are named);
-- finals already delivered stay as they are.
UPDATE campaign_materials m
SET decision = %(decision)s, reason = %(reason)s, decided_at = now()
FROM assets a
WHERE m.campaign_id = %(campaign_id)s
  AND a.request_hash = m.preview_hash AND a.kind = 'video'
  AND (%(asset_ids)s::bigint[] IS NULL OR a.asset_id = ANY(%(asset_ids)s::bigint[]))
  AND m.delivered_at IS NULL
RETURNING a.asset_id;

-- name: set_final_hash
UPDATE campaign_materials SET final_hash = %(final_hash)s
WHERE campaign_id = %(campaign_id)s AND preview_hash = %(preview_hash)s;

-- name: mark_delivered
-- Finals rendered and stored: delivered once (the first time counts).
UPDATE campaign_materials SET delivered_at = coalesce(delivered_at, now())
WHERE campaign_id = %(campaign_id)s AND final_hash = ANY(%(final_hashes)s::text[]);

-- name: interrupt_stale_runs
-- Runs still marked running when a new run holds the lock died (crash, SIGKILL).
UPDATE campaign_runs SET status = 'interrupted', finished_at = now()
WHERE campaign_id = %(campaign_id)s AND status = 'running';

-- name: start_campaign_run
INSERT INTO campaign_runs (campaign_id) VALUES (%(campaign_id)s) RETURNING run_id, started_at;

-- name: finish_campaign_run
UPDATE campaign_runs SET status = %(status)s, summary = %(summary)s, finished_at = now()
WHERE run_id = %(run_id)s;

-- name: campaign_runs
SELECT * FROM campaign_runs WHERE campaign_id = %(campaign_id)s ORDER BY run_id DESC LIMIT 10;

-- name: campaign_tokens_used
-- Tokens the campaign's renders have metered so far (its budget counts these).
SELECT coalesce(sum(tokens), 0)::bigint AS tokens FROM render_usage
WHERE campaign_id = %(campaign_id)s;

-- name: try_campaign_lock
-- One run per campaign at a time: a session lock held for the run's whole life.
SELECT pg_try_advisory_lock(hashtext('adreel.campaign'), hashtext(%(campaign_id)s)) AS locked;

-- name: release_campaign_lock
SELECT pg_advisory_unlock(hashtext('adreel.campaign'), hashtext(%(campaign_id)s));

-- name: campaign_status_head
-- The campaign row with the tokens its renders metered and the live products among the
-- ids its file lists (its missing_products are the others): with campaign_materials
-- and campaign_runs, a campaign's status in one pipelined round trip.
SELECT c.*,
       (SELECT coalesce(sum(tokens), 0)::bigint FROM render_usage u
        WHERE u.campaign_id = c.campaign_id) AS tokens_used,
       ARRAY(SELECT p.product_id FROM products p
             WHERE p.merchant_id = c.merchant_id AND p.removed_at IS NULL
               AND p.product_id = ANY (ARRAY(SELECT jsonb_array_elements_text(
                   CASE WHEN jsonb_typeof(c.spec -> 'products' -> 'ids') = 'array'
                        THEN c.spec -> 'products' -> 'ids' ELSE '[]'::jsonb END)))
       ) AS live_listed
FROM campaigns c
WHERE c.campaign_id = %(campaign_id)s;
