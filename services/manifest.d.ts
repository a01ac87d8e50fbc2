export type ServiceName = 'voice-bridge' | 'whatsapp-webhook' | 'video-orchestrator';

export interface ProcessDefinition {
  name: string;
  /** Node entry, relative to the repository root. */
  entry: string;
}

export interface ServiceDefinition extends ProcessDefinition {
  name: ServiceName;
  /** Default port (`npm start`, the k6 scripts' default targets). */
  port: number;
  /** `<prefix>_PORT`, `BASE_<prefix>_URL`, and the service's own variables. */
  envPrefix: string;
  /** A separate worker process, run only when the database is a server. */
  worker: ProcessDefinition | null;
}

export type ServiceManifest = readonly ServiceDefinition[];

export declare const SERVICES: ServiceManifest;
export declare const SANDBOX: ProcessDefinition & { port: number; envPrefix: string };
export declare const CONSOLE: ProcessDefinition & { port: number; envPrefix: string };
export declare const NODE_FLAGS: readonly string[];
export declare const SERVICE_NAMES: readonly ServiceName[];
export declare function serviceNamed(name: string): ServiceDefinition;
export declare function portVariable(service: { envPrefix: string }): string;
export declare function baseUrlVariable(service: { envPrefix: string }): string;
