-- A record the server has acknowledged nothing of sends its whole history on the next push.
-- That history is kept here as the capture or edit wrote it (raw change chunks, each prefixed
-- with its length as 4 bytes big-endian), so the push sends it as stored instead of loading
-- the document and re-encoding its changes: most of the device's work per pushed record.
-- Every write of `doc` sets it or clears it (NULL), and an acknowledgement clears it; NULL
-- means "work it out from `doc`".
alter table record add column unsent blob;
