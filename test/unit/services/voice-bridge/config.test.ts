import { describe, expect, it } from 'vitest';
import { voiceAppConfig } from '../../../../services/voice-bridge/app.ts';
import {
  DEV_VOICE_API_KEY,
  loadVoiceConfig,
  SANDBOX_TWILIO_AUTH_TOKEN,
} from '../../../../services/voice-bridge/config.ts';
import { ConfigError } from '../../../../shared/config/index.ts';

describe('voice-bridge config', () => {
  it('runs with no variables at all: dev key, port 3001, the sandbox and the echo agent', () => {
    const config = loadVoiceConfig({});
    expect(config.VOICE_API_KEY).toBe(DEV_VOICE_API_KEY);
    expect(config.port).toBe(3001);
    expect(config.VOICE_PUBLIC_URL).toBe('http://127.0.0.1:3001');
    expect(config.twilio).toMatchObject({
      sandbox: true,
      apiUrl: 'http://127.0.0.1:4010',
      authToken: SANDBOX_TWILIO_AUTH_TOKEN,
    });
    expect(config.VOICE_AGENT_URL).toBe('ws://127.0.0.1:4010/agent/realtime');
    expect(config.VOICE_OUTBOUND_RATE_POINTS).toBe(10);
    expect(config.VOICE_DESTINATION_RATE_POINTS).toBe(3);
  });

  it('talks to Twilio itself once both credentials are set; VOICE_PORT wins over PORT', () => {
    const config = loadVoiceConfig({
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_AUTH_TOKEN: 'tok',
      VOICE_API_KEY: 'a-real-voice-api-key-0123456789abcdef',
      PORT: '8080',
      VOICE_PORT: '3005',
    });
    expect(config.twilio).toMatchObject({
      sandbox: false,
      apiUrl: 'https://api.twilio.com',
      accountSid: 'AC1',
    });
    expect(config.port).toBe(3005);
  });

  it('names every bad variable', () => {
    try {
      loadVoiceConfig({
        TWILIO_ACCOUNT_SID: 'AC1',
        VOICE_AGENT_URL: 'http://nope',
        TWILIO_FROM_NUMBER: '123',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const variables = (error as ConfigError).problems.map((p) => p.variable).sort();
      expect(variables).toEqual(['TWILIO_AUTH_TOKEN', 'TWILIO_FROM_NUMBER', 'VOICE_AGENT_URL']);
    }
  });

  it('conversation settings: backchannels per language, consent, rollover, machine choice', () => {
    const config = voiceAppConfig(
      loadVoiceConfig({
        VOICE_BACKCHANNELS_RW: 'yego, ego ,nibyo',
        VOICE_DEFAULT_LANGUAGE: 'sw',
        VOICE_CONSENT: 'false',
        VOICE_AGENT_SESSION_ROLLOVER_S: '0',
        VOICE_ON_MACHINE: 'off',
      }),
    );
    expect(config.conversation).toMatchObject({
      defaultLanguage: 'sw',
      minInterruptionMs: 600,
      consentPrompt: undefined,
      sessionRolloverMs: undefined,
    });
    expect(config.conversation?.backchannels.rw).toEqual(['yego', 'ego', 'nibyo']);
    expect(config.conversation?.backchannels.sw).toContain('sawa');
    expect(config.machine?.onMachine).toBeUndefined();
    expect(config.streamUrlTtlSeconds).toBe(60);
    const defaults = voiceAppConfig(loadVoiceConfig({}));
    expect(defaults.conversation?.consentPrompt).toMatch(/Press 1/);
    expect(defaults.conversation?.sessionRolloverMs).toBe(1_500_000);
    expect(defaults.machine?.onMachine).toBe('hang_up');
  });

  it('refuses an unknown language, machine choice or an out-of-range stream URL lifetime', () => {
    try {
      loadVoiceConfig({
        VOICE_DEFAULT_LANGUAGE: 'de',
        VOICE_ON_MACHINE: 'shout',
        VOICE_STREAM_URL_TTL_S: '1',
      });
      expect.unreachable();
    } catch (error) {
      const variables = (error as ConfigError).problems.map((p) => p.variable).sort();
      expect(variables).toEqual(['VOICE_DEFAULT_LANGUAGE', 'VOICE_ON_MACHINE', 'VOICE_STREAM_URL_TTL_S']);
    }
  });
});
