-- The receipt the server signed for each push it applied (client-core/src/evidence/receipt.rs),
-- kept so an evidence pack carries it beside the signed push: an evaluator then sees, offline,
-- that the server acknowledged those heads at that time. One per push: a re-sent push is
-- answered with a fresh receipt, and the first one stays.
create table push_receipt (
    push text primary key,
    receipt text not null
);
