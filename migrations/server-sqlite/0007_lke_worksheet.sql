-- LKE editions and worksheets (sqlite).
-- An edition is the whole validated LKE file (PermenPAN-RB 90/2021 jo. 5/2024 and later
-- amendments) as loaded by `bukti-server lke load`; the newest loaded is the active one, and
-- the edition built into the server serves until one is loaded.
create table lke_edition (
    edition text primary key,
    version integer not null,
    title text not null,
    body text not null,
    loaded_at integer not null
);

-- One worksheet per unit and year: the survey results and performance achievement the
-- assessor enters as figures. Answers are rows of their own, so two assessors answering
-- different questions at once never overwrite each other.
create table worksheet (
    unit text not null,
    year integer not null,
    ipak_survey real,
    ipkp_survey real,
    capaian_kinerja text,
    holds_wbk integer not null default 0,
    updated_at integer not null,
    updated_by text not null,
    primary key (unit, year)
);

-- An answer to one LKE question, with the evidence records the assessor links to it.
create table worksheet_answer (
    unit text not null,
    year integer not null,
    question text not null,
    -- The chosen option (A, B, ya, ...) or null for a question answered with figures.
    option_code text,
    -- JSON object of input name → number, for percentage questions.
    inputs text not null,
    -- JSON array of record ids.
    evidence text not null,
    updated_at integer not null,
    updated_by text not null,
    primary key (unit, year, question)
);
