-- Officials' analysis (docs/DESIGN.md §4.1): who the lessees are.
--
-- The kind of a lessee as the analysis counts it: a person (a person or a household), a company, a
-- farmers' specialised cooperative (农民专业合作社), or another organisation. The unified social credit
-- code tells the last three apart (GB 32100-2015): its first character is the registering authority
-- (9 = the market regulator), its second the kind of body registered with it (1 enterprise, 2 individual
-- business, 3 farmers' specialised cooperative). A collective economic organisation and bodies registered
-- elsewhere (civil affairs, institutions) are "other".
--
-- Existing databases: a function only; nothing stored changes.
create function lessee_kind(kind text, credit_code text) returns text language sql immutable parallel safe as $$
    select case when kind in ('person', 'household') then 'person'
                when kind = 'organisation' and credit_code like '93%' then 'cooperative'
                when kind = 'organisation' and (credit_code like '91%' or credit_code like '92%') then 'company'
                else 'other' end
$$;
