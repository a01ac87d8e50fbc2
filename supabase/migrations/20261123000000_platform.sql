-- Supabase's API roles. On Supabase they exist already; on a plain PostgreSQL (CI, self-hosted)
-- and in embedded PGlite we create them so every table's RLS policy means the same thing.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
exception
  -- Roles are cluster-wide: two databases migrating at once may race to create them.
  when duplicate_object or unique_violation then null;
end
$$;
