import { ENQUEUE_FUNCTION, enqueueFunctionSql } from './pg-boss-enqueue-function.js'

/**
 * The SQL the pg-boss job store runs on pg-boss's own tables (schema `s`, pg-boss 10's `job` and
 * `archive`) and on what DevSys adds to that schema: `delivery` (webhook deliveries, written in
 * the transaction that inserts the job), `job_seq` (the order of jobs: pg-boss ids are UUIDs and
 * created_on ties within a millisecond) and the enqueue function (pg-boss-enqueue-function.ts).
 *
 * A job's `data` is `{kind, payload, seq, deliveryId, lastError, lockedBy, updatedAt}`. States
 * map as created|retry = queued, active = running, completed = done, failed|cancelled = failed.
 * Attempts follow pg-boss: `retry_count` grows on every start after the first, so attempts =
 * retry_count + 1 once started, and maxAttempts = retry_limit + 1.
 */
export function pgBossSql(s: string) {
  // The attempt a worker holds: the lock id it was claimed with, still running.
  const owned = `name = $1 AND id = $2 AND state = 'active' AND data->>'lockedBy' = $3`
  const seq = `(data->>'seq')::bigint`
  const columns = `id, name, data, state, retry_count, retry_limit, start_after, started_on,
    expire_in, singleton_key, created_on, completed_on, output`
  return {
    setup: [
      `CREATE TABLE IF NOT EXISTS ${s}.delivery (
        id text PRIMARY KEY,
        event text NOT NULL,
        job_id uuid,
        received_at timestamptz NOT NULL
      )`,
      `CREATE SEQUENCE IF NOT EXISTS ${s}.job_seq`,
    ],
    // Once the queue exists (its partition is created by pg-boss on a connection of its own,
    // which an open transaction holding the job table would block): a key's queued and running
    // jobs, found by key, for enqueue's coalesce lookup and claim's "key busy or an older job
    // waiting" checks. pg-boss's indexes cover COALESCE(key, '') per policy only, so without it
    // each of those scans every unfinished job of the queue.
    indexes: [
      `CREATE INDEX IF NOT EXISTS job_devsys_key ON ${s}.job (name, singleton_key)
        WHERE state <= 'active'`,
      enqueueFunctionSql(s),
    ],
    // A batch of enqueues, one row per item (src/queue/pg-boss-enqueue-function.ts).
    enqueue: `SELECT * FROM ${s}.${ENQUEUE_FUNCTION}($1, $2::json)`,
    hasDelivery: `SELECT 1 FROM ${s}.delivery WHERE id = $1`,
    // Setup, one process at a time (enqueues of one key queue up on the same kind of lock in the
    // enqueue function). The two-key form is a lock space of its own: pg-boss locks with one bigint.
    lockKey: `SELECT pg_advisory_xact_lock(hashtext('devsys-queue'), hashtext($1))`,
    // Only the kinds asked for ($6; null: any). Per key: none running and no older queued one
    // (an older job in retry backoff keeps its place, so an old payload never runs after a new
    // one). The singleton policy's unique index
    // (one active job per name and singleton_key) is the guarantee should two claims race.
    claim: `WITH next AS (
        SELECT j.id FROM ${s}.job j
        WHERE j.name = $1 AND j.state < 'active' AND j.start_after <= $2
          AND ($6::text[] IS NULL OR j.data->>'kind' = ANY($6::text[]))
          AND NOT EXISTS (SELECT 1 FROM ${s}.job r WHERE r.name = j.name
            AND r.singleton_key = j.singleton_key AND r.state = 'active')
          AND NOT EXISTS (SELECT 1 FROM ${s}.job q WHERE q.name = j.name
            AND q.singleton_key = j.singleton_key AND q.state < 'active'
            AND (q.data->>'seq')::bigint < (j.data->>'seq')::bigint)
        ORDER BY j.start_after, (j.data->>'seq')::bigint
        LIMIT 1 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.job j SET state = 'active', started_on = $2,
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END,
        expire_in = $3::int * interval '1 millisecond',
        data = j.data || jsonb_build_object('lockedBy', $4::text, 'updatedAt', $5::text)
      FROM next WHERE j.name = $1 AND j.id = next.id RETURNING j.*`,
    renew: `UPDATE ${s}.job SET expire_in = ($4::timestamptz - started_on) + $5::int * interval '1 millisecond',
        data = data || jsonb_build_object('updatedAt', $6::text)
      WHERE ${owned}`,
    // lockedBy stays on finished jobs: it says which worker ran them.
    complete: `UPDATE ${s}.job SET state = 'completed', completed_on = $4, output = $5::jsonb,
        data = data || jsonb_build_object('updatedAt', $6::text)
      WHERE ${owned}`,
    retry: `UPDATE ${s}.job SET state = 'retry', start_after = $4,
        data = data || jsonb_build_object('lastError', $5::text, 'lockedBy', NULL, 'updatedAt', $6::text)
      WHERE ${owned}`,
    fail: `UPDATE ${s}.job SET state = 'failed', completed_on = $4,
        data = data || jsonb_build_object('lastError', $5::text, 'updatedAt', $6::text)
      WHERE ${owned}`,
    expired: `SELECT ${columns} FROM ${s}.job
      WHERE name = $1 AND state = 'active' AND started_on + expire_in < $2 ORDER BY ${seq}`,
    // The WHERE re-checks expiry (or that the dead owner still holds it): of two processes
    // recovering the same job only one wins. pg-boss's own rule: retry while retry_count < retry_limit.
    recover: `UPDATE ${s}.job SET
        state = CASE WHEN retry_count < retry_limit THEN 'retry' ELSE 'failed' END::${s}.job_state,
        start_after = CASE WHEN retry_count < retry_limit THEN $5 ELSE start_after END,
        completed_on = CASE WHEN retry_count < retry_limit THEN NULL ELSE $3 END,
        data = data || jsonb_build_object('lastError', $6::text, 'updatedAt', $7::text,
          'lockedBy', CASE WHEN retry_count < retry_limit THEN NULL ELSE data->'lockedBy' END)
      WHERE name = $1 AND id = $2 AND state = 'active'
        AND (started_on + expire_in < $3 OR data->>'lockedBy' = $4)
      RETURNING ${columns}`,
    // Finished jobs move to pg-boss's archive after a while; the API still shows them.
    get: `SELECT ${columns} FROM ${s}.job WHERE name = $1 AND id = $2
      UNION ALL SELECT ${columns} FROM ${s}.archive WHERE name = $1 AND id = $2 LIMIT 1`,
    list: `SELECT * FROM (
        SELECT ${columns} FROM ${s}.job WHERE name = $1
        UNION ALL SELECT ${columns} FROM ${s}.archive WHERE name = $1) j
      WHERE ($2::text IS NULL OR state::text = ANY(string_to_array($2, ',')))
        AND ($3::text IS NULL OR data->>'kind' = $3)
      ORDER BY CASE WHEN $4::int IS NULL THEN ${seq} ELSE -${seq} END LIMIT $4`,
    // Queued, running and failed jobs per kind (failed ones also in the archive), and the
    // oldest due queued one: the same states as BOSS_STATES in pg-boss-rows.ts.
    count: `SELECT data->>'kind' AS kind,
        CASE WHEN state IN ('created', 'retry') THEN 'queued'
          WHEN state = 'active' THEN 'running' ELSE 'failed' END AS state,
        count(*)::int AS count,
        min(start_after) FILTER (WHERE state IN ('created', 'retry') AND start_after <= $2)
          AS oldest_due
      FROM (
        SELECT data, state, start_after FROM ${s}.job
          WHERE name = $1 AND state IN ('created', 'retry', 'active', 'failed', 'cancelled')
        UNION ALL SELECT data, state, start_after FROM ${s}.archive
          WHERE name = $1 AND state IN ('failed', 'cancelled')) j
      GROUP BY 1, 2 ORDER BY 1, 2`,
  }
}
