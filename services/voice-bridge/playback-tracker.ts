/**
 * What the caller has actually heard of the agent, from Twilio's mark echoes. Every outbound chunk is
 * followed by a mark named after the item and the cumulative milliseconds sent for it; Twilio echoes a
 * mark once playback reaches it, so the last echoed mark of an item is exactly how much of it played.
 * (Twilio's realtime sample estimates the offset from the inbound media clock since the first delta,
 * which overshoots whenever playback lags or stalls; marks measure it.)
 *
 * Pure bookkeeping, no I/O: the media bridge sends what it returns.
 */

/** G.711 μ-law at 8 kHz: one byte per sample. */
export const MULAW_BYTES_PER_MS = 8;

export interface AgentItem {
  /** The agent's conversation item id (what `conversation.item.truncate` names). */
  itemId: string;
  contentIndex: number;
  /** False when the agent sent no item id: we can clear playback but cannot truncate its memory. */
  truncatable: boolean;
  /** Audio sent to Twilio for this item (the cap for any truncate). */
  generatedMs: number;
  /** Audio Twilio acknowledged as played. */
  playedMs: number;
  /** The agent finished generating this item's audio. */
  audioDone: boolean;
  /** Where the item starts on the call's media clock (after whatever played before it). */
  startMs: number;
  /** Set once nothing more of it can play: `played` in full, or `cut` by a barge-in or the end. */
  ended?: 'played' | 'cut';
}

export interface AudioRef {
  itemId?: string;
  contentIndex?: number;
  responseId?: string;
}

interface PendingMark {
  name: string;
  item: AgentItem;
  endMs: number;
}

/** @example const playback = createPlaybackTracker(); const { markName } = playback.audioSent(ref, bytes, nowMs); */
export function createPlaybackTracker() {
  const pending: PendingMark[] = [];
  const items = new Map<string, AgentItem>();
  let anonymous = 0;
  let lastRef: string | undefined;
  // Where queued agent audio ends on the call clock: the next item starts no earlier.
  let playbackEndMs = 0;

  const itemFor = (ref: AudioRef, nowMs: number): AgentItem => {
    const key = ref.itemId ?? ref.responseId ?? lastRef ?? `local-${++anonymous}`;
    lastRef = ref.itemId ? undefined : key;
    let item = items.get(key);
    if (!item || item.ended) {
      item = {
        itemId: key,
        contentIndex: ref.contentIndex ?? 0,
        truncatable: ref.itemId !== undefined,
        generatedMs: 0,
        playedMs: 0,
        audioDone: false,
        startMs: Math.max(nowMs, playbackEndMs),
      };
      items.set(key, item);
    }
    return item;
  };

  const settle = (item: AgentItem): boolean => {
    if (item.ended || !item.audioDone || pending.some((m) => m.item === item)) return false;
    item.ended = 'played';
    items.delete(item.itemId);
    return true;
  };

  return {
    /** Audio for an item goes to Twilio now; send the returned mark right after it. */
    audioSent(ref: AudioRef, bytes: number, nowMs: number): { item: AgentItem; markName: string } {
      const item = itemFor(ref, nowMs);
      const ms = bytes / MULAW_BYTES_PER_MS;
      item.generatedMs += ms;
      playbackEndMs = Math.max(playbackEndMs, item.startMs) + ms;
      const name = `${item.itemId}@${Math.round(item.generatedMs)}`;
      pending.push({ name, item, endMs: item.generatedMs });
      return { item, markName: name };
    },

    /** The agent finished an item's audio. Returns the item when that makes it fully played. */
    audioDone(ref: AudioRef): AgentItem | undefined {
      const key = ref.itemId ?? ref.responseId ?? lastRef;
      const item = key === undefined ? undefined : items.get(key);
      if (!item) return undefined;
      item.audioDone = true;
      lastRef = undefined;
      return settle(item) ? item : undefined;
    },

    /**
     * Twilio echoed a mark. Marks play in order, so every mark before it played too. Unknown names
     * (the ones a `clear` dropped, which Twilio also echoes) change nothing.
     */
    markEchoed(name: string): { item: AgentItem; finished: boolean } | undefined {
      const at = pending.findIndex((m) => m.name === name);
      if (at === -1) return undefined;
      const played = pending.splice(0, at + 1);
      for (const mark of played) mark.item.playedMs = Math.max(mark.item.playedMs, mark.endMs);
      const { item } = played[played.length - 1];
      return { item, finished: settle(item) };
    },

    /** Agent audio sent that Twilio has not confirmed playing: what a barge-in has to cut off. */
    get audible(): boolean {
      return pending.length > 0;
    },

    /**
     * The caller cut in: every item with unplayed audio ends where playback stopped. The bridge sends
     * `clear`, then truncates each returned item that played at all (capped at what was generated).
     */
    interrupt(nowMs: number): AgentItem[] {
      const cut = [...new Set(pending.map((m) => m.item))];
      pending.length = 0;
      for (const item of cut) {
        item.playedMs = Math.min(item.playedMs, item.generatedMs);
        item.ended = 'cut';
        items.delete(item.itemId);
      }
      playbackEndMs = nowMs;
      return cut;
    },
  };
}

export type PlaybackTracker = ReturnType<typeof createPlaybackTracker>;
