-- The second factor of signing in (TOTP, RFC 6238), read-only API tokens, and sessions that know whether
-- they passed the second factor. Accounts without a second factor keep working: where their role requires
-- one, their next sign-in gives a session that may only enrol (see src/http/two_factor.rs).

-- A user's TOTP secret, sealed with the service's own key (never stored in the clear): a dump of the
-- database alone gives no working codes. Until `enrolled_at` is set, the enrolment waits for a first code.
create table user_totp (
    user_id bigint primary key references users on delete cascade,
    secret_sealed bytea not null constraint user_totp_secret check (length(secret_sealed) = 20),
    nonce bytea not null constraint user_totp_nonce check (length(nonce) = 16),
    created_at timestamptz not null default now(),
    enrolled_at timestamptz,
    -- The last time step whose code was taken: a code is taken once, never replayed.
    last_step bigint
);

-- Recovery codes of a lost phone: argon2id hashes, each used once.
create table recovery_codes (
    id bigint generated always as identity primary key,
    user_id bigint not null references users on delete cascade,
    code_hash text not null constraint recovery_codes_hash check (code_hash like '$argon2id$%'),
    used_at timestamptz
);
create index recovery_codes_user on recovery_codes (user_id);

-- Whether the session passed the second factor. Sessions from before this migration did not.
alter table sessions add column second_factor boolean not null default false;

-- What a token may do: `full` (anything its account may), or `read` (GET and HEAD only).
alter table api_tokens add column scope text not null default 'full'
    constraint api_tokens_scope check (scope in ('full', 'read'));
