-- Certifying a deal asks whether a certificate of the same deal was revoked in this very transaction
-- (re-issuing after a revocation skips the checklist: certifications_guard, 0113). The only index on
-- certifications.transaction_id is partial (certificates in force), so that question read the whole
-- table: 0.2 s a certificate with 590,000 certificates, and every certification of the county waited for
-- it under the county's locks. A plain index on the deal answers it, and any lookup of a deal's
-- certificates, in one probe.
create index certifications_by_transaction on certifications (transaction_id);
