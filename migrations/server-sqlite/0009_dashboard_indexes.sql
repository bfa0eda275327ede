-- The dashboard counts a whole Polres by unit and period: an index that holds every column those
-- counts read (unit, period, workflow state, verdict, and the id that joins LKE tags) lets the database
-- answer from the index alone instead of visiting each of a hundred thousand record rows, and
-- tags joined by record id find their area in the index too. It starts with `unit`, so it
-- serves every lookup the plain unit index did.
create index record_unit_period on record (unit, activity_at, state, verdict, record_id);
drop index record_unit;
create index record_lke_record_area on record_lke (record_id, area);
