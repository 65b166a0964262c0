-- Each county's certificate numbers begin with its own two letters, given with the district from the
-- reference list (fixtures/certificate-prefixes.tsv); a district without them is refused instead of
-- numbering its certificates as Shangyu's (SY). Existing districts keep the letters they have.
alter table districts alter column certificate_prefix drop default;
