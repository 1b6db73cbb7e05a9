-- Upstream completions handled before the inbox was keyed per provider (runtime migration 002)
-- are recorded under ''; their records say whose they were, so a redelivery of one is still
-- known. (Dead-lettered ones are not in the inbox, and are decided again, as before.)
UPDATE inbox SET provider_id = r.provider_id
  FROM records r
 WHERE inbox.provider_id = '' AND r.source = 'stream' AND r.source_message_id = inbox.message_id
   AND (inbox.consumer = 'intake-upstream' OR inbox.consumer LIKE '%.intake-upstream');
