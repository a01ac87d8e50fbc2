import { describe, expect, it } from 'vitest';
import { createEncodeSlots } from '../../../../services/video-orchestrator/render/encode-slots.ts';

describe('encode slots', () => {
  it('gives at most `max` slots, then serves waiters in order as slots free', async () => {
    const slots = createEncodeSlots(1);
    const first = slots.tryAcquire()!;
    expect(slots.tryAcquire()).toBeNull();
    const granted: string[] = [];
    const second = slots.acquire(new AbortController().signal).then((release) => {
      granted.push('second');
      return release;
    });
    const third = slots.acquire(new AbortController().signal).then((release) => {
      granted.push('third');
      return release;
    });
    first();
    first(); // a second call frees nothing more
    (await second)();
    (await third)();
    expect(granted).toEqual(['second', 'third']);
    expect(slots.running).toBe(0);
  });

  it('a waiter that aborts leaves the line with the reason and takes no slot', async () => {
    const slots = createEncodeSlots(1);
    const held = slots.tryAcquire()!;
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('canceled'));
    await expect(waiting).rejects.toThrow('canceled');
    held();
    expect(slots.running).toBe(0);
    expect(slots.tryAcquire()).not.toBeNull();
  });
});
