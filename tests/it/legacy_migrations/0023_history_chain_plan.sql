-- The history's "last entry" lookup always goes through the primary key.
--
-- history_chain (0005) finds the last entry with `order by seq desc limit 1`. PL/pgSQL plans that query once
-- per session; planned while the history is empty or tiny, it becomes a sequential scan and sort, and the
-- plan is kept while one statement appends thousands of entries: a bulk insert of n rows then costs n²/2
-- row visits (importing 6,000 parcels into a new registry spent 2.8 s here instead of 0.1 s). With
-- sequential scans off inside this one function, the backward scan of the primary key is chosen at any size.
alter function history_chain() set enable_seqscan = off;
