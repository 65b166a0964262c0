-- Activation projects (激活项目): houses grouped under one operator and brand, such as a 民宿 cluster, with
-- a story, cover photos, the investment, the opening day and the operator's public business contact. The
-- public list and pages show projects (docs/DESIGN.md §2.1); a household's private data is never part of
-- one: the operator is an organisation, and its contact is the one it gives the public, not the party's
-- private phone.
--
-- Existing data: no house belongs to a project, and nothing recorded changes. Databases loaded before
-- this migration (the demo included) get empty tables; officers add projects through the API, and a
-- demo loaded afterwards carries its three showcase projects.

-- A party with its kind, for projects_operator_organisation below to refer to.
alter table parties add constraint parties_id_kind_key unique (id, kind);

create table projects (
    id bigint generated always as identity primary key,
    name text not null check (length(name) between 1 and 100),
    brand text not null default '' check (length(brand) <= 100),
    -- The operator (运营主体), an organisation: the key names the party with its kind, so neither a person
    -- nor a household can be made a project's operator, nor can an operator's kind change while it runs
    -- one (a person's name would otherwise be published as a business's).
    operator_party_id bigint not null,
    operator_kind text not null default 'organisation' check (operator_kind = 'organisation'),
    story text not null default '' check (length(story) <= 5000),
    -- What the operator put into the houses, in fen.
    investment_fen bigint not null default 0 check (investment_fen between 0 and 1000000000000),
    opened_on date check (opened_on between '1990-01-01' and '2100-12-31'),
    -- The operator's public business contact: shown to everyone.
    contact_phone text check (contact_phone ~ '^\+?[0-9][0-9 -]{3,19}$'),
    contact_url text check (length(contact_url) <= 300 and contact_url ~ '^https?://[!-~]+$'),
    township_code char(9) not null references townships,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint projects_name_key unique (name),
    constraint projects_operator_organisation foreign key (operator_party_id, operator_kind) references parties (id, kind)
);
create index projects_operator on projects (operator_party_id);
create trigger projects_touch before update on projects for each row execute function touch_version();
call keep_history('projects');

-- A house belongs to one project at most: two operators cannot both show it as theirs.
create table project_houses (
    id bigint generated always as identity primary key,
    project_id bigint not null references projects on delete cascade,
    farmhouse_id bigint not null references farmhouses on delete cascade,
    constraint project_houses_one_project unique (farmhouse_id)
);
create index project_houses_project on project_houses (project_id, farmhouse_id);
call keep_history('project_houses');

-- Pictures of a project are kept as a house's are: the same columns and checks (whose names, and so their
-- messages to clients, are farmhouse_photos'), the first being its cover.
create table project_photos (like farmhouse_photos including all);
alter table project_photos rename column farmhouse_id to project_id;
alter table project_photos rename constraint project_photos_farmhouse_id_sha256_key to project_photos_project_id_sha256_key;
alter index project_photos_farmhouse_id_id_idx rename to project_photos_project;
alter table project_photos add constraint project_photos_project_id_fkey
    foreign key (project_id) references projects on delete cascade;
call keep_history('project_photos');

-- Officers limited to townships (0113_deal_parties.sql) write projects of their townships and put only
-- their townships' houses into one.
create trigger projects_scope_insert after insert on projects referencing new table as new_rows
    for each statement execute function scope_guard('township');
create trigger projects_scope_update after update on projects referencing new table as new_rows
    for each statement execute function scope_guard('township');
create trigger project_houses_scope_insert after insert on project_houses referencing new table as new_rows
    for each statement execute function scope_guard('farmhouse');
create trigger project_houses_scope_update after update on project_houses referencing new table as new_rows
    for each statement execute function scope_guard('farmhouse');

-- A project's outline on the map: the convex hull of its houses' footprints, widened by 15 m so a project of
-- one house, or of houses in a row, still draws as an area (null while it has no house). Computed when read:
-- a project has a handful of houses, and a moved footprint moves the outline with nothing to keep. A
-- function rather than a view, since an outline is read by its project, never searched by place.
create function project_outline(project bigint) returns geometry language sql stable parallel safe as $$
    select st_buffer(st_convexhull(st_collect(f.footprint))::geography, 15)::geometry
    from project_houses ph join farmhouses f on f.id = ph.farmhouse_id
    where ph.project_id = project
$$;
