-- 0012: the visual check of every ad (composer/qa.py), recorded on its asset rows.
-- Rows from before the check say 'unchecked'; a failed ad is stored, with its reasons,
-- and campaigns do not deliver it as a final.

ALTER TABLE assets
    ADD COLUMN qa_status  text NOT NULL DEFAULT 'unchecked'
        CHECK (qa_status IN ('unchecked', 'passed', 'qa_failed')),
    ADD COLUMN qa_reasons jsonb NOT NULL DEFAULT '[]'::jsonb;
