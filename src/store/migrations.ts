/** One schema change. Versions are applied in order and recorded in `schema_migrations`. */
export interface Migration {
  version: number
  name: string
  sql: string
}

/**
 * Every schema change, oldest first. Never edit a migration that has shipped: a database that
 * already recorded its version would not see the edit. Append a new one instead.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    // Timestamps are ISO-8601 UTC strings from Date#toISOString, which sort as text, so
    // `run_at <= @now` compares times correctly without date functions.
    sql: `
      CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        event TEXT NOT NULL,
        received_at TEXT NOT NULL
      );

      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        run_at TEXT NOT NULL,
        locked_by TEXT,
        locked_until TEXT,
        last_error TEXT,
        outcome TEXT,
        delivery_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- claimJob: due queued jobs in order.
      CREATE INDEX jobs_claim ON jobs (state, run_at, id);
      -- claimJob / enqueue: is this key running or queued?
      CREATE INDEX jobs_key_state ON jobs (key, state, id);
      -- expiredJobs: running jobs by lease end.
      CREATE INDEX jobs_lease ON jobs (state, locked_until);
      -- The core guarantee, enforced by the database itself: one running job per key.
      CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (key) WHERE state = 'running';

      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        source_key TEXT NOT NULL,
        repo TEXT,
        manifest_text TEXT NOT NULL,
        spec TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX tasks_repo ON tasks (repo, created_at);
      CREATE INDEX tasks_status ON tasks (status, created_at);

      CREATE TABLE comments (
        repo TEXT NOT NULL,
        issue INTEGER NOT NULL,
        kind TEXT NOT NULL,
        comment_id INTEGER NOT NULL,
        PRIMARY KEY (repo, issue, kind)
      );

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_subject ON audit (subject, id);
    `,
  },
  {
    version: 2,
    name: 'task code links',
    // Where a task's generated code lives: its branch, the commit pushed last and its PR.
    sql: `
      ALTER TABLE tasks ADD COLUMN branch TEXT;
      ALTER TABLE tasks ADD COLUMN head_sha TEXT;
      ALTER TABLE tasks ADD COLUMN pr_number INTEGER;
      ALTER TABLE tasks ADD COLUMN pr_url TEXT;
      CREATE UNIQUE INDEX tasks_pull_request ON tasks (repo, pr_number) WHERE pr_number IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'test runs',
    // One row per run of a task's tests; the parsed report is kept whole for the API.
    sql: `
      CREATE TABLE test_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        head_sha TEXT NOT NULL,
        check_run_id INTEGER,
        runner TEXT,
        state TEXT NOT NULL CHECK (state IN ('queued', 'in_progress', 'completed')),
        conclusion TEXT,
        summary TEXT,
        report TEXT,
        created_at TEXT NOT NULL,
        completed_at TEXT
      );
      CREATE INDEX test_runs_task ON test_runs (task_id, id);
    `,
  },
  {
    version: 4,
    name: 'deploy locks',
    // One row per environment while a deploy holds it; an expired row may be taken over, so a
    // deploy whose process died frees its environment once its lease runs out.
    sql: `
      CREATE TABLE deploy_locks (
        env TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        reason TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'deployments',
    // One row per deploy, rollback and dry run of an environment: the deploy history. `bad`
    // marks a release that failed verification or was rolled back.
    sql: `
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo TEXT NOT NULL,
        environment TEXT NOT NULL,
        task_id TEXT,
        trigger TEXT NOT NULL CHECK (trigger IN ('merge', 'command', 'api', 'rollback')),
        actor TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        ref TEXT NOT NULL,
        release_id TEXT,
        state TEXT NOT NULL
          CHECK (state IN ('in_progress', 'success', 'failure', 'error', 'rolled_back')),
        bad INTEGER NOT NULL DEFAULT 0,
        verification TEXT,
        rollback_of INTEGER REFERENCES deployments (id),
        revert TEXT,
        github_deployment_id INTEGER,
        url TEXT,
        error TEXT,
        job_id INTEGER,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX deployments_environment ON deployments (repo, environment, id);
      CREATE INDEX deployments_task ON deployments (task_id, id);
      CREATE INDEX deployments_open ON deployments (state) WHERE state = 'in_progress';
    `,
  },
  {
    version: 6,
    name: 'task ids per repository',
    // A task id is unique within its repository (API tasks without one share the '' scope), not
    // across every installation: the table is rebuilt without the global primary key, in rowid
    // order so that listings keep their order. Test runs and audit subjects learn the task's
    // repository from the (until now globally unique) id. Comment ids handled by a command are
    // recorded so that a replayed delivery of the same comment runs nothing.
    sql: `
      CREATE TABLE tasks_per_repo (
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        source_key TEXT NOT NULL,
        repo TEXT,
        manifest_text TEXT NOT NULL,
        spec TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        branch TEXT,
        head_sha TEXT,
        pr_number INTEGER,
        pr_url TEXT
      );
      INSERT INTO tasks_per_repo (id, title, status, source, source_key, repo, manifest_text, spec,
          revision, created_at, updated_at, branch, head_sha, pr_number, pr_url)
        SELECT id, title, status, source, source_key, repo, manifest_text, spec, revision,
          created_at, updated_at, branch, head_sha, pr_number, pr_url
        FROM tasks ORDER BY rowid;
      DROP TABLE tasks;
      ALTER TABLE tasks_per_repo RENAME TO tasks;
      CREATE UNIQUE INDEX tasks_repo_id ON tasks (ifnull(repo, ''), id);
      CREATE INDEX tasks_repo ON tasks (repo, created_at);
      CREATE INDEX tasks_status ON tasks (status, created_at);
      CREATE UNIQUE INDEX tasks_pull_request ON tasks (repo, pr_number) WHERE pr_number IS NOT NULL;

      ALTER TABLE test_runs ADD COLUMN repo TEXT;
      UPDATE test_runs SET repo = (SELECT repo FROM tasks WHERE tasks.id = test_runs.task_id);
      CREATE INDEX test_runs_repo_task ON test_runs (ifnull(repo, ''), task_id, id);

      UPDATE audit SET subject = 'task:'
          || ifnull((SELECT repo FROM tasks WHERE 'task:' || tasks.id = audit.subject), '')
          || '#' || substr(subject, 6)
        WHERE subject LIKE 'task:%';

      CREATE TABLE handled_comments (
        repo TEXT NOT NULL,
        comment_id INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        handled_at TEXT NOT NULL,
        PRIMARY KEY (repo, comment_id)
      );
    `,
  },
  {
    version: 7,
    name: 'generations',
    // One row per generate job that runs the self-fix loop, and one per iteration of it: what the
    // agent did (activity, kept whole as JSON) and the tokens it used, in columns for sums.
    sql: `
      CREATE TABLE generations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo TEXT,
        task_id TEXT NOT NULL,
        generator TEXT NOT NULL,
        reason TEXT NOT NULL,
        max_iterations INTEGER NOT NULL,
        budget_seconds INTEGER NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('running', 'passed', 'failed', 'stopped', 'error')),
        stop_reason TEXT,
        head_sha TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX generations_task ON generations (ifnull(repo, ''), task_id, id);

      CREATE TABLE generation_iterations (
        generation_id INTEGER NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
        iteration INTEGER NOT NULL,
        head_sha TEXT,
        committed INTEGER NOT NULL,
        files TEXT NOT NULL,
        test_run_id INTEGER,
        tests TEXT,
        activity TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cached_input_tokens INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (generation_id, iteration)
      );
    `,
  },
  {
    version: 8,
    name: 'job ids as text',
    // Job ids are opaque strings chosen by the queue (SQLite's integer keys today, another
    // queue's UUIDs tomorrow): the records that name a job keep its id as text, so an id is
    // read back exactly as written. The jobs table keeps its integer key; the queue hands it
    // out as text.
    sql: `
      CREATE TABLE handled_comments_text (
        repo TEXT NOT NULL,
        comment_id INTEGER NOT NULL,
        job_id TEXT NOT NULL,
        handled_at TEXT NOT NULL,
        PRIMARY KEY (repo, comment_id)
      );
      INSERT INTO handled_comments_text (repo, comment_id, job_id, handled_at)
        SELECT repo, comment_id, CAST(job_id AS TEXT), handled_at FROM handled_comments;
      DROP TABLE handled_comments;
      ALTER TABLE handled_comments_text RENAME TO handled_comments;

      ALTER TABLE deployments ADD COLUMN job_text TEXT;
      UPDATE deployments SET job_text = CAST(job_id AS TEXT) WHERE job_id IS NOT NULL;
      ALTER TABLE deployments DROP COLUMN job_id;
      ALTER TABLE deployments RENAME COLUMN job_text TO job_id;
    `,
  },
  {
    version: 9,
    name: 'notifications',
    // One row per (event, destination): the unique pair is what makes a retried or redelivered
    // notify job send nothing twice. Destinations are named by the server's configuration; a
    // disabled one is kept with a fingerprint of its settings, so changed settings enable it.
    sql: `
      CREATE TABLE notification_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        repo TEXT,
        destination TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        delivered_at TEXT,
        UNIQUE (event_id, destination)
      );
      CREATE TABLE notification_destinations (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        disabled_at TEXT NOT NULL,
        reason TEXT NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'monitor states',
    // One row per monitored environment; the streaks and the incident are JSON, the due time
    // a column so the sweep can find due environments, the revision for compare-and-set.
    sql: `
      CREATE TABLE monitor_states (
        repo TEXT NOT NULL,
        environment TEXT NOT NULL,
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        next_check_at TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (repo, environment)
      );
    `,
  },
  {
    version: 11,
    name: 'api tokens and the full audit record',
    sql: `
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        repos TEXT NOT NULL,
        environments TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT,
        revoked_at TEXT
      );

      ALTER TABLE audit ADD COLUMN via TEXT NOT NULL DEFAULT 'system';
      ALTER TABLE audit ADD COLUMN repo TEXT;
      ALTER TABLE audit ADD COLUMN task TEXT;
      ALTER TABLE audit ADD COLUMN environment TEXT;
      ALTER TABLE audit ADD COLUMN release TEXT;
      ALTER TABLE audit ADD COLUMN before_state TEXT;
      ALTER TABLE audit ADD COLUMN after_state TEXT;
      ALTER TABLE audit ADD COLUMN request_id TEXT;
      ALTER TABLE audit ADD COLUMN source_ip TEXT;
      ALTER TABLE audit ADD COLUMN result TEXT;
      -- Old task events name their task in the subject ('task:owner/name#id'): give them the
      -- target columns too, so filters by repository find them.
      UPDATE audit SET
          repo = nullif(substr(subject, 6, instr(subject, '#') - 6), ''),
          task = substr(subject, instr(subject, '#') + 1)
        WHERE subject LIKE 'task:%' AND instr(subject, '#') > 0;
      CREATE INDEX audit_repo ON audit (repo, id);
      CREATE INDEX audit_actor ON audit (actor, id);
      CREATE INDEX audit_at ON audit (at, id);

      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is refused'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is refused'); END;
    `,
  },
]
