/**
 * Refusals never depend on a database write (item 4): with every audit write failing (a full disk), a refusal
 * still answers 403, the failed flush neither throws nor loses the row, and it is written once the database
 * takes writes again. While writes fail, the group commit backs off (doubling from its flush delay up to
 * AUDIT_MAX_RETRY_MS) instead of retrying and logging every 100 ms.
 */
import { describe, expect, it } from 'vitest';
import { makeHarness } from '../helpers/harness.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { AUDIT_MAX_RETRY_MS, BatchingAuditSink } from '../../src/core/audit.ts';
import { manualClock } from '../../src/core/clock.ts';
import { SqlError } from '../../src/core/sql-errors.ts';
import type { SqlDb } from '../../src/core/ports.ts';

describe('audit writes failing', () => {
  it('a refusal answers 403 while audit writes fail; the row is kept and written later', async () => {
    const h = await makeHarness();
    const ana = await h.user('ana@x');
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'm' } });
    const id = (await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } })).registered_model_databricks.id;
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: [{ user_name: 'ana@x', permission_level: 'CAN_READ' }] } });
    await h.deps.audit.flush();
    const batch = h.db.batch.bind(h.db);
    h.db.batch = async () => {
      throw new SqlError('full', 'database or disk is full');
    };
    const r = await h.call('DELETE', '/api/2.0/mlflow/registered-models/delete', { token: ana.token, body: { name: 'm' } });
    expect(r.status).toBe(403);
    await expect(h.deps.audit.flush()).resolves.toBeUndefined();
    expect(h.deps.audit.pending).toBe(1);
    expect(h.logLines.some((l) => l.event === 'audit_write_failed')).toBe(true);
    h.db.batch = batch;
    await h.deps.audit.flush();
    expect(h.deps.audit.pending).toBe(0);
    const rows = await h.db.prepare("SELECT status FROM audit WHERE action = 'denied'").all<{ status: number }>();
    expect(rows.map((x) => x.status)).toEqual([403]);
  });

  it('backs off while writes fail, and goes back to the flush delay once one succeeds', async () => {
    const timers = manualTimers();
    let failing = true;
    let attempts = 0;
    const db = {
      prepare: () => ({ bind: () => ({}) }),
      batch: async () => {
        attempts++;
        if (failing) throw new SqlError('full', 'full');
        return [];
      },
    } as unknown as SqlDb;
    const quiet = { info() {}, warn() {}, error() {} };
    const sink = new BatchingAuditSink(db, manualClock(0), timers, quiet, { maxDelayMs: 100 });
    sink.record({ principalId: null, action: 'denied', status: 403 });
    const settle = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    let expectedDelay = 100;
    for (let n = 1; n <= 8; n++) {
      timers.advance(expectedDelay - 1);
      await settle();
      expect(attempts).toBe(n - 1);
      timers.advance(1);
      await settle();
      expect(attempts).toBe(n);
      expectedDelay = Math.min(expectedDelay * 2, AUDIT_MAX_RETRY_MS);
    }
    expect(expectedDelay).toBe(AUDIT_MAX_RETRY_MS);
    failing = false;
    timers.advance(AUDIT_MAX_RETRY_MS);
    await settle();
    expect(sink.pending).toBe(0);
    // Healthy again: the next row is written after the ordinary delay.
    sink.record({ principalId: null, action: 'denied', status: 403 });
    const before = attempts;
    timers.advance(100);
    await settle();
    expect(attempts).toBe(before + 1);
  });
});
