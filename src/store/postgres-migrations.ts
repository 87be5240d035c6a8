import type { PoolClient } from 'pg'
import type { Migration } from './migrations.js'

/**
 * The PostgreSQL schema, numbered and named as the SQLite migrations (src/store/migrations.ts)
 * so that a version means the same records on both. Differences of dialect only: times are
 * `timestamptz` (read back as the same ISO strings), JSON is `json` (kept as written), flags
 * are booleans, GitHub ids are `bigint`, and `seq` orders tasks as SQLite's rowid does. The
 * queue's tables (jobs, deliveries) are not here: the queue owns its state.
 * Never edit a migration that has shipped; append a new one.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE tasks (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        title text NOT NULL,
        status text NOT NULL,
        source json NOT NULL,
        source_key text NOT NULL,
        repo text,
        manifest_text text NOT NULL,
        spec text NOT NULL,
        revision integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX tasks_repo ON tasks (repo, created_at);
      CREATE INDEX tasks_status ON tasks (status, created_at);

      CREATE TABLE comments (
        repo text NOT NULL,
        issue bigint NOT NULL,
        kind text NOT NULL,
        comment_id bigint NOT NULL,
        PRIMARY KEY (repo, issue, kind)
      );

      CREATE TABLE audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        details json NOT NULL
      );
      CREATE INDEX audit_subject ON audit (subject, id);
    `,
  },
  {
    version: 2,
    name: 'task code links',
    sql: `
      ALTER TABLE tasks ADD COLUMN branch text, ADD COLUMN head_sha text,
        ADD COLUMN pr_number bigint, ADD COLUMN pr_url text;
      CREATE UNIQUE INDEX tasks_pull_request ON tasks (repo, pr_number) WHERE pr_number IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'test runs',
    sql: `
      CREATE TABLE test_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id text NOT NULL,
        head_sha text NOT NULL,
        check_run_id bigint,
        runner text,
        state text NOT NULL CHECK (state IN ('queued', 'in_progress', 'completed')),
        conclusion text,
        summary json,
        report json,
        created_at timestamptz NOT NULL,
        completed_at timestamptz
      );
      CREATE INDEX test_runs_task ON test_runs (task_id, id);
    `,
  },
  {
    version: 4,
    name: 'deploy locks',
    sql: `
      CREATE TABLE deploy_locks (
        env text PRIMARY KEY,
        owner text NOT NULL,
        reason text NOT NULL,
        acquired_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'deployments',
    sql: `
      CREATE TABLE deployments (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        repo text NOT NULL,
        environment text NOT NULL,
        task_id text,
        trigger text NOT NULL CHECK (trigger IN ('merge', 'command', 'api', 'rollback')),
        actor text NOT NULL,
        commit_sha text NOT NULL,
        ref text NOT NULL,
        release_id text,
        state text NOT NULL
          CHECK (state IN ('in_progress', 'success', 'failure', 'error', 'rolled_back')),
        bad boolean NOT NULL DEFAULT false,
        verification json,
        rollback_of bigint REFERENCES deployments (id),
        revert json,
        github_deployment_id bigint,
        url text,
        error text,
        job_id bigint,
        created_at timestamptz NOT NULL,
        finished_at timestamptz
      );
      CREATE INDEX deployments_environment ON deployments (repo, environment, id);
      CREATE INDEX deployments_task ON deployments (task_id, id);
      CREATE INDEX deployments_open ON deployments (state) WHERE state = 'in_progress';
    `,
  },
  {
    version: 6,
    name: 'task ids per repository',
    // As in SQLite: task ids are unique per repository ('' for API tasks without one); test runs
    // and audit subjects name the task's repository; handled command comments are recorded.
    sql: `
      ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
      CREATE UNIQUE INDEX tasks_repo_id ON tasks ((coalesce(repo, '')), id);

      ALTER TABLE test_runs ADD COLUMN repo text;
      UPDATE test_runs SET repo = (SELECT repo FROM tasks WHERE tasks.id = test_runs.task_id);
      CREATE INDEX test_runs_repo_task ON test_runs ((coalesce(repo, '')), task_id, id);

      UPDATE audit SET subject = 'task:'
          || coalesce((SELECT repo FROM tasks WHERE 'task:' || tasks.id = audit.subject), '')
          || '#' || substr(subject, 6)
        WHERE subject LIKE 'task:%';

      CREATE TABLE handled_comments (
        repo text NOT NULL,
        comment_id bigint NOT NULL,
        job_id bigint NOT NULL,
        handled_at timestamptz NOT NULL,
        PRIMARY KEY (repo, comment_id)
      );
    `,
  },
  {
    version: 7,
    name: 'generations',
    sql: `
      CREATE TABLE generations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        repo text,
        task_id text NOT NULL,
        generator text NOT NULL,
        reason text NOT NULL,
        max_iterations integer NOT NULL,
        budget_seconds integer NOT NULL,
        state text NOT NULL
          CHECK (state IN ('running', 'passed', 'failed', 'stopped', 'error')),
        stop_reason text,
        head_sha text,
        started_at timestamptz NOT NULL,
        finished_at timestamptz
      );
      CREATE INDEX generations_task ON generations ((coalesce(repo, '')), task_id, id);

      CREATE TABLE generation_iterations (
        generation_id bigint NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
        iteration integer NOT NULL,
        head_sha text,
        committed boolean NOT NULL,
        files json NOT NULL,
        test_run_id bigint,
        tests json,
        activity json,
        input_tokens bigint,
        output_tokens bigint,
        cached_input_tokens bigint,
        error text,
        duration_ms bigint NOT NULL,
        PRIMARY KEY (generation_id, iteration)
      );
    `,
  },
  {
    version: 8,
    name: 'job ids as text',
    // Job ids are opaque strings chosen by the queue: kept as text, read back as written.
    sql: `
      ALTER TABLE handled_comments ALTER COLUMN job_id TYPE text USING job_id::text;
      ALTER TABLE deployments ALTER COLUMN job_id TYPE text USING job_id::text;
    `,
  },
  {
    version: 9,
    name: 'notifications',
    sql: `
      CREATE TABLE notification_deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id text NOT NULL,
        event_type text NOT NULL,
        repo text,
        destination text NOT NULL,
        channel text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        delivered_at timestamptz,
        UNIQUE (event_id, destination)
      );
      CREATE TABLE notification_destinations (
        name text PRIMARY KEY,
        fingerprint text NOT NULL,
        disabled_at timestamptz NOT NULL,
        reason text NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'monitor states',
    sql: `
      CREATE TABLE monitor_states (
        repo text NOT NULL,
        environment text NOT NULL,
        revision integer NOT NULL,
        state json NOT NULL,
        next_check_at timestamptz,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (repo, environment)
      );
    `,
  },
  {
    version: 11,
    name: 'api tokens and the full audit record',
    sql: `
      CREATE TABLE api_tokens (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        hash text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        repos json NOT NULL,
        environments json NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz
      );

      ALTER TABLE audit
        ADD COLUMN via text NOT NULL DEFAULT 'system',
        ADD COLUMN repo text,
        ADD COLUMN task text,
        ADD COLUMN environment text,
        ADD COLUMN release text,
        ADD COLUMN before_state text,
        ADD COLUMN after_state text,
        ADD COLUMN request_id text,
        ADD COLUMN source_ip text,
        ADD COLUMN result text;
      UPDATE audit SET
          repo = nullif(substring(subject from 6 for position('#' in subject) - 6), ''),
          task = substring(subject from position('#' in subject) + 1)
        WHERE subject LIKE 'task:%' AND position('#' in subject) > 0;
      CREATE INDEX audit_repo ON audit (repo, id);
      CREATE INDEX audit_actor ON audit (actor, id);
      CREATE INDEX audit_at ON audit (at, id);

      -- Append-only, whoever connects: UPDATE, DELETE and TRUNCATE raise.
      CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP;
        END
      $$;
      CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
    `,
  },
]

/** Key of the advisory lock that serialises DevSys processes migrating one database. */
const MIGRATION_LOCK = 0x64657673 // 'devs'

/**
 * Applies the migrations this database has not seen, in one transaction under an advisory lock,
 * so two processes starting at once apply each version once (the second waits, then finds
 * nothing to do). Returns the versions applied now.
 */
export async function migratePostgres(
  client: PoolClient,
  database: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
  nowIso: () => string = () => new Date().toISOString(),
): Promise<number[]> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL
    )`)
    const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations')
    const applied = new Set(rows.rows.map((r) => r.version))
    const known = new Set(migrations.map((m) => m.version))
    const unknown = [...applied].filter((v) => !known.has(v))
    if (unknown.length > 0) {
      throw new Error(
        `The PostgreSQL database ${database} has schema version(s) ${unknown.join(', ')} that ` +
          'this DevSys does not know: it was written by a newer DevSys. Upgrade DevSys, or point ' +
          'DATABASE_URL at another database.',
      )
    }
    const done: number[] = []
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue
      await client.query(m.sql)
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [m.version, m.name, nowIso()],
      )
      done.push(m.version)
    }
    await client.query('COMMIT')
    return done
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}
