/**
 * Thrown by a job handler when retrying cannot help (invalid input, a non-media file). The queue
 * completes the job instead of retrying; the business outcome is recorded by the service itself.
 */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}
