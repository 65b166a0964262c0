-- The two letters that begin a district's certificate numbers (SY for Shangyu: SY-JZ-2020-000123).
alter table districts add column certificate_prefix char(2) not null default 'SY'
    check (certificate_prefix ~ '^[A-Z]{2}$');
