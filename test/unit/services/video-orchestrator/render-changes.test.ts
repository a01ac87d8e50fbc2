import { describe, expect, it } from 'vitest';
import {
  type Listen,
  RENDER_CHANGED_CHANNEL,
  startRenderChanges,
} from '../../../../services/video-orchestrator/render-changes.ts';
import { createLogger } from '../../../../shared/observability/index.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const A = '5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
const B = '0c6f3d1e-2a4b-4c8d-9e0f-1a2b3c4d5e6f';

/** A LISTEN the test drives: `notify(payload)` and `reconnect()` as the database connection would. */
function fakeListen() {
  const handlers: { channel: string; onNotification: (p: string) => void; onReconnect: () => void }[] = [];
  const listen: Listen = async (channel, onNotification, onReconnect) => {
    handlers.push({ channel, onNotification, onReconnect });
    return { close: async () => void handlers.splice(0) };
  };
  return {
    listen,
    handlers,
    notify: (payload: string) => {
      for (const h of handlers) h.onNotification(payload);
    },
    reconnect: () => {
      for (const h of handlers) h.onReconnect();
    },
  };
}

describe('render changes', () => {
  it("wakes only the notified render's watches, keeps a notice that came between waits, times out without one", async () => {
    const db = fakeListen();
    const changes = await startRenderChanges(db.listen, logger);
    expect(changes.live).toBe(true);
    expect(db.handlers.map((h) => h.channel)).toEqual([RENDER_CHANGED_CHANNEL]);
    const a = changes.watch(A);
    const b = changes.watch(B);

    const waiting = a.changed(60_000);
    db.notify(A.toUpperCase());
    expect(await waiting).toBe(true);
    expect(await b.changed(5)).toBe(false);

    // Arrives while nobody waits: the next wait returns at once.
    db.notify(B);
    expect(await b.changed(60_000)).toBe(true);
    expect(await a.changed(5)).toBe(false);

    // A resubscription may have lost notices: every watch reads again.
    const both = Promise.all([a.changed(60_000), b.changed(60_000)]);
    db.reconnect();
    expect(await both).toEqual([true, true]);

    // A closed watch hears nothing more; close() ends a pending wait.
    const pending = a.changed(60_000);
    a.close();
    expect(await pending).toBe(true);
    db.notify(A);
    expect(await a.changed(5)).toBe(false);
    await changes.close();
    expect(db.handlers).toEqual([]);
  });

  it('without LISTEN (or when it fails) it is not live and watches only time out', async () => {
    const failing: Listen = async () => {
      throw new Error('LISTEN not supported');
    };
    for (const listen of [undefined, failing]) {
      const changes = await startRenderChanges(listen, logger);
      expect(changes.live).toBe(false);
      expect(await changes.watch(A).changed(5)).toBe(false);
      await changes.close();
    }
  });
});
