/**
 * Answering-machine detection on outbound calls (Twilio async AMD): what a request may ask for when a
 * machine answers, what Twilio reports, and the outcomes a call can end with. The outcome itself is
 * settled by the database (migration 20261201000500, `voice_call_settle_outcome`) the moment the call
 * becomes terminal, so it is set exactly once whichever path ends the call.
 */

/** A request's choice when a machine answers. */
export const MACHINE_CHOICES = ['leave_message', 'hang_up', 'connect_agent'] as const;
export type MachineChoice = (typeof MACHINE_CHOICES)[number];

/** Twilio's `AnsweredBy`. */
export const ANSWERED_BY = [
  'human',
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
  'unknown',
] as const;
export type AnsweredBy = (typeof ANSWERED_BY)[number];

export const isMachine = (answeredBy: AnsweredBy) => answeredBy.startsWith('machine') || answeredBy === 'fax';

/** Exactly one per call, once it ended. */
export const CALL_OUTCOMES = [
  'human_completed',
  'voicemail_left',
  'machine_hangup',
  'no_answer',
  'busy',
  'failed',
  'canceled',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** What we did about a machine (stored as `machine_action`). */
export type MachineAction = 'message_left' | 'hung_up' | 'connected';

/**
 * Twilio's detection mode for a choice: a message must wait for the greeting to end (the beep); hanging
 * up or connecting only needs to know quickly.
 */
export const detectionModeFor = (choice: MachineChoice) =>
  choice === 'leave_message' ? 'DetectMessageEnd' : 'Enable';
