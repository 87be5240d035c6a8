/**
 * The name of the enqueue function in the queue's schema. Versioned: a changed body gets a new
 * name, so processes of the old and the new release, running side by side, each call their own.
 */
export const ENQUEUE_FUNCTION = 'devsys_enqueue_v1'

/**
 * `CREATE OR REPLACE` of the function that enqueues a whole batch in one statement (one round
 * trip, its own transaction in autocommit). `items` is a json array of
 * `{kind, key, payload, deliveryId, event, id, at, runAt, coalesceLimit, retryLimit}`; the result
 * is one row per item, in order: `ord` (1-based), `outcome` (enqueued | coalesced |
 * duplicate-delivery | error, with `error_code` and `error_message`) and the job's columns.
 *
 * Per item, as a transaction of separate statements did: the delivery is recorded (a duplicate
 * stops there) and the key's advisory lock taken; the newest queued job of the key takes the new
 * kind and payload (coalesced), else a job is inserted the way pg-boss's `send` inserts one
 * (its `insertJob` with DevSys's options: priority 0, no singleton slot, the queue's dead letter,
 * expiry and retention, retry_delay 1 with backoff, the queue's policy) and `created_on` is the
 * queue's clock. Each item runs in a subtransaction (BEGIN … EXCEPTION), so an item that fails
 * is rolled back and reported alone while the others commit. `items` is json, not jsonb, and
 * every field is read inside the item's block, so even a payload PostgreSQL cannot store (a
 * `\u0000`) fails only its own item. A deadlock is raised to the caller, not caught: it fails
 * the batch, which the store then runs again item by item.
 */
export function enqueueFunctionSql(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.${ENQUEUE_FUNCTION}(queue text, items json)
  RETURNS TABLE (ord int, outcome text, error_code text, error_message text,
    id uuid, name text, data jsonb, state ${s}.job_state, retry_count int, retry_limit int,
    start_after timestamptz, started_on timestamptz, expire_in interval, singleton_key text,
    created_on timestamptz, completed_on timestamptz, output jsonb)
  LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  item json;
  n bigint;
  k text;
  delivery text;
  at timestamptz;
  run_at timestamptz;
  queued uuid;
  next_seq bigint;
  inserted_delivery text;
  got ${s}.job%ROWTYPE;
BEGIN
  FOR item, n IN SELECT e.value, e.ordinality FROM json_array_elements(items) WITH ORDINALITY e LOOP
    BEGIN
      k := item->>'key';
      delivery := item->>'deliveryId';
      at := (item->>'at')::timestamptz;
      run_at := (item->>'runAt')::timestamptz;
      got := NULL;
      IF delivery IS NOT NULL THEN
        INSERT INTO ${s}.delivery AS d (id, event, job_id, received_at)
          VALUES (delivery, item->>'event', (item->>'id')::uuid, at)
          ON CONFLICT DO NOTHING RETURNING d.id INTO inserted_delivery;
      END IF;
      -- Enqueues of one key queue up here, across processes (the lock a separate-statement
      -- enqueue takes too), so coalesce-or-insert is atomic. A duplicate takes it as well.
      PERFORM pg_advisory_xact_lock(hashtext('devsys-queue'), hashtext(queue || ':' || k));
      IF delivery IS NOT NULL AND inserted_delivery IS NULL THEN
        ord := n; outcome := 'duplicate-delivery'; error_code := NULL; error_message := NULL;
        id := NULL; name := NULL; data := NULL; state := NULL; retry_count := NULL;
        retry_limit := NULL; start_after := NULL; started_on := NULL; expire_in := NULL;
        singleton_key := NULL; created_on := NULL; completed_on := NULL; output := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
      -- The newest queued job of the key (after a retry there may be two: the retried one keeps
      -- its place in line).
      SELECT j.id INTO queued FROM ${s}.job j
        WHERE j.name = queue AND j.singleton_key = k AND j.state < 'active'
        ORDER BY (j.data->>'seq')::bigint DESC LIMIT 1 FOR UPDATE;
      IF queued IS NOT NULL THEN
        UPDATE ${s}.job j SET
            data = j.data || jsonb_build_object('kind', item->>'kind',
              'payload', (item->'payload')::jsonb,
              'deliveryId', COALESCE(delivery, j.data->>'deliveryId'), 'updatedAt', item->>'at'),
            retry_limit = COALESCE((item->>'coalesceLimit')::int, j.retry_limit),
            start_after = LEAST(j.start_after, run_at)
          WHERE j.name = queue AND j.id = queued AND j.state < 'active'
          RETURNING j.* INTO got;
      END IF;
      -- Locked FOR UPDATE, the queued job is still queued; were it not, a job is inserted instead.
      IF got.id IS NOT NULL THEN
        IF delivery IS NOT NULL THEN
          UPDATE ${s}.delivery d SET job_id = got.id WHERE d.id = delivery;
        END IF;
        outcome := 'coalesced';
      ELSE
        next_seq := nextval('${s}.job_seq');
        INSERT INTO ${s}.job AS j (id, name, data, priority, start_after, singleton_key,
            singleton_on, dead_letter, expire_in, keep_until, retry_limit, retry_delay,
            retry_backoff, policy, created_on)
          SELECT (item->>'id')::uuid, queue,
            jsonb_build_object('kind', item->>'kind', 'payload', (item->'payload')::jsonb,
              'seq', next_seq, 'deliveryId', delivery, 'updatedAt', item->>'at'),
            0, run_at, k, NULL, q.dead_letter,
            COALESCE(q.expire_seconds * interval '1s', interval '15 minutes'),
            run_at + CAST(COALESCE((q.retention_minutes * 60)::text, '14 days') AS interval),
            (item->>'retryLimit')::int, 1, true, q.policy, at
          FROM ${s}.queue q WHERE q.name = queue
          ON CONFLICT DO NOTHING
          RETURNING j.* INTO got;
        IF got.id IS NULL THEN
          RAISE EXCEPTION 'pg-boss did not insert job % (%, %)', item->>'id', item->>'kind', k;
        END IF;
        outcome := 'enqueued';
      END IF;
      ord := n; error_code := NULL; error_message := NULL;
      id := got.id; name := got.name; data := got.data; state := got.state;
      retry_count := got.retry_count; retry_limit := got.retry_limit;
      start_after := got.start_after; started_on := got.started_on; expire_in := got.expire_in;
      singleton_key := got.singleton_key; created_on := got.created_on;
      completed_on := got.completed_on; output := got.output;
      RETURN NEXT;
    EXCEPTION
      WHEN deadlock_detected THEN RAISE;
      WHEN OTHERS THEN
        ord := n; outcome := 'error'; error_code := SQLSTATE; error_message := SQLERRM;
        id := NULL; name := NULL; data := NULL; state := NULL; retry_count := NULL;
        retry_limit := NULL; start_after := NULL; started_on := NULL; expire_in := NULL;
        singleton_key := NULL; created_on := NULL; completed_on := NULL; output := NULL;
        RETURN NEXT;
    END;
  END LOOP;
END
$fn$`
}
