/**
 * WhatsApp webhook ingest, as Meta delivers it: POST /webhook on the running whatsapp-webhook process,
 * every request a fresh signed delivery of one text message, from 10,000 distinct senders and from one
 * hot sender, in turns with bare Hono (its own process) answering the same POSTs with the same JSON.
 * Afterwards the rows are counted: every 2xx must be a stored message.
 */
import { signMetaPayload } from '../shared/webhooks/meta-signature.ts';
import { type BenchSystem, bareHonoCpu, serviceCpu } from './support/bench-system.ts';
import { halfCapacityFigures, measureHalfCapacity } from './support/half-capacity.ts';
import {
  combineMeasurements,
  type HttpFigures,
  type HttpMeasurement,
  type HttpRequestSpec,
  WARM_UP_SECONDS,
} from './support/measure-http.ts';
import { type RssFigures, sampleRss } from './support/rss-sampler.ts';
import { checkStored, type StoredCheck } from './support/stored-check.ts';
import { bareFigures, closedLoopTurn, measureInTurns, roundRatio, turnRatio } from './support/turns.ts';

const PHONE_NUMBER_ID = '100000000000001';
const SENDERS = 10_000;
/** Deliveries signed before the measurements (so signing does not compete with the server for CPU). */
const MAX_POOL = 200_000;

export interface IngestMeasurement extends HttpFigures {
  stored: StoredCheck;
  rssMiB: RssFigures;
}

/** A single-message delivery, as Meta sends one per inbound message. */
function delivery(wamid: string, waId: string, n: number): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '200000000000001',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000001', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: `User ${waId.slice(-4)}` }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: wamid,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: `message number ${n}` },
                },
              ],
            },
          },
        ],
      },
    ],
  });
}

/**
 * Signed deliveries made up front, each a new wamid under `prefix`; the pool wraps around when the
 * server outruns it (the wrapped ones are Meta retries: acknowledged, stored once).
 */
export function signedDeliveries(options: {
  prefix: string;
  senders: number;
  count: number;
  appSecret: string;
}): () => HttpRequestSpec {
  const pool: Array<{ wamid: string; body: string; signature: string }> = [];
  for (let n = 0; n < options.count; n++) {
    const wamid = `${options.prefix}${n}`;
    const waId = `25078${String(n % options.senders).padStart(7, '0')}`;
    const body = delivery(wamid, waId, n);
    pool.push({ wamid, body, signature: signMetaPayload(body, options.appSecret) });
  }
  let next = 0;
  return () => {
    const item = pool[next++ % pool.length];
    return {
      method: 'POST',
      path: '/webhook',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': item.signature },
      body: item.body,
      key: item.wamid,
    };
  };
}

export async function benchWhatsAppIngest(
  system: BenchSystem,
  options: { durationSeconds: number; rounds: number; connections?: number },
) {
  const { sql } = system;
  const run = `wamid.bench.${process.pid}.${Date.now().toString(36)}`;
  // Enough for a subject's turns at 8,000/s (twice what the system reaches here); a faster one wraps
  // around (Meta retries, stored once). Bare Hono ignores them: a quarter, reused, is enough for it.
  const count = Math.min(
    MAX_POOL,
    Math.ceil((options.rounds * options.durationSeconds + WARM_UP_SECONDS) * 8_000),
  );
  const requests = (label: string, senders: number, deliveries = count) =>
    signedDeliveries({
      prefix: `${run}.${label}.`,
      senders,
      count: deliveries,
      appSecret: system.secrets.whatsappAppSecret,
    });

  const countStored = (label: string) => {
    const prefix = `${run}.${label}.%`;
    return {
      countStored: async () =>
        (
          await sql<{ n: number }[]>`
          select count(*)::int as n from whatsapp_inbound_messages where wamid like ${prefix}`
        )[0].n,
      countStoredOf: async (keys: readonly string[]) =>
        (
          await sql<{ n: number }[]>`
          select count(*)::int as n from whatsapp_inbound_messages where wamid = any(${sql.array([...keys])})`
        )[0].n,
    };
  };

  const ingest = (label: string, senders: number) =>
    closedLoopTurn(options, {
      url: system.urls.whatsapp,
      nextRequest: requests(label, senders),
      cpu: serviceCpu(system, 'whatsapp-webhook'),
      groupCommitMetricsUrl: `${system.urls.whatsapp}/metrics`,
    });

  const rss = sampleRss({ 'whatsapp-webhook': system.pids['whatsapp-webhook'] });
  const turns = await measureInTurns({
    rounds: options.rounds,
    bare: closedLoopTurn(options, {
      url: system.urls.bare,
      nextRequest: requests('bare', SENDERS, Math.ceil(count / 4)),
      cpu: bareHonoCpu(system),
    }),
    subjects: { senders: ingest('senders', SENDERS), hot: ingest('hot', 1) },
  });
  const rssMiB = rss.stop()['whatsapp-webhook'];
  const figures = async (label: string, parts: HttpMeasurement[]): Promise<IngestMeasurement> => {
    const measured = combineMeasurements(parts);
    const stored = await checkStored({
      acknowledgedKeys: measured.acknowledgedKeys,
      unansweredAtStop: measured.unansweredAtStop,
      ...countStored(label),
    });
    return { ...measured.figures, stored, rssMiB };
  };
  const tenThousandSenders = await figures('senders', turns.subjects.senders);
  const hotSender = await figures('hot', turns.subjects.hot);
  const toBare = turnRatio(turns.subjects.senders, turns.bare);
  const hotToBare = turnRatio(turns.subjects.hot, turns.bare);
  const hotToSenders = roundRatio(turns.subjects.hot, turns.subjects.senders);

  // Memory at a sustainable load: half the capacity the 10,000-sender run showed, twice as long.
  const half = await measureHalfCapacity({
    url: system.urls.whatsapp,
    pid: system.pids['whatsapp-webhook'],
    capacityPerSecond: tenThousandSenders.okPerSecond,
    durationSeconds: options.durationSeconds * 2,
    // Half the capacity for twice as long, after its second of warm-up, with a tenth to spare.
    nextRequest: requests(
      'half',
      SENDERS,
      Math.ceil((tenThousandSenders.okPerSecond / 2) * (options.durationSeconds * 2 + 1) * 1.1),
    ),
  });
  const halfCapacity = halfCapacityFigures(
    half,
    await checkStored({
      acknowledgedKeys: half.acknowledgedKeys,
      unansweredAtStop: half.unansweredAtStop,
      ...countStored('half'),
    }),
  );
  return {
    database: 'postgres',
    connections: options.connections ?? 50,
    rounds: options.rounds,
    ...bareFigures(turns.bare),
    whatsappIngest: tenThousandSenders,
    whatsappIngestHotSender: hotSender,
    ingestToBareThroughputRatio: toBare.ratio,
    ingestToBareRatioPerRound: toBare.perRound,
    hotSenderToBareThroughputRatio: hotToBare.ratio,
    hotSenderToBareRatioPerRound: hotToBare.perRound,
    hotSenderToSendersThroughputRatio: hotToSenders.ratio,
    hotSenderToSendersRatioPerRound: hotToSenders.perRound,
    halfCapacity,
    storedEqualsAcknowledged: tenThousandSenders.stored.ok && hotSender.stored.ok && halfCapacity.stored.ok,
  };
}
