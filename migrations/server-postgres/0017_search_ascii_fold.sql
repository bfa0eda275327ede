-- The search vector folded diacritics with `translate` over every character of every record's
-- text. PostgreSQL's `translate` decodes the whole list of accented letters for each character
-- it looks up, so folding a record's narrative cost tens of thousands of character decodings:
-- half of PostgreSQL's CPU in a push (tests/benches/sync.rs, `perf record -a`). Text that is all
-- ASCII (octets = characters), nearly all Indonesian text, has nothing to fold and skips it; the
-- vector is the same either way. Dropping the column drops its index, rebuilt below.
alter table record_search drop column document;

alter table record_search add column document tsvector generated always as (
    to_tsvector('simple',
        case when octet_length(title || place || narrative) = char_length(title || place || narrative)
            then lower(title || ' ' || place || ' ' || narrative)
            else translate(lower(title || ' ' || place || ' ' || narrative),
                'àáâãäåāăąçćĉċčďèéêëēĕėęěĝğġģĥìíîïĩīĭįĵķĺļľñńņňòóôõöōŏőŕŗřśŝşšţťùúûüũūŭůűųŵýÿŷźżžÀÁÂÃÄÅĀĂĄÇĆĈĊČĎÈÉÊËĒĔĖĘĚĜĞĠĢĤÌÍÎÏĨĪĬĮĴĶĹĻĽÑŃŅŇÒÓÔÕÖŌŎŐŔŖŘŚŜŞŠŢŤÙÚÛÜŨŪŬŮŰŲŴÝŸŶŹŻŽ',
                'aaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzzaaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzz')
        end)
) stored;

create index record_search_document on record_search using gin (document);
