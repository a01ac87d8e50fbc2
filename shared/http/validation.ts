import type { Context } from 'hono';
import type { z } from 'zod';
import { readBodyText } from './node-request.ts';
import { type FieldError, ProblemError } from './problem.ts';

export type InputSource = 'body' | 'query' | 'params' | 'headers';

function toFieldErrors(source: InputSource, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: [source, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Parses `value` with `schema` or throws a 400 problem naming every offending field.
 *
 * @example
 * const query = parseInput(VerifyQuery, c.req.query(), 'query');
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, source: InputSource): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ProblemError({
    status: 400,
    title: 'Invalid request',
    detail: `${source} failed validation`,
    errors: toFieldErrors(source, result.error),
  });
}

/** Parses JSON text; malformed JSON is a 400 naming the body, never a 500. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError({
      status: 400,
      title: 'Invalid request',
      detail: 'body is not valid JSON',
      errors: [{ field: 'body', message: 'malformed JSON' }],
    });
  }
}

/**
 * Reads the JSON body and validates it.
 *
 * @example
 * const input = await readJsonBody(c, OutboundCallRequest);
 */
export async function readJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseInput(schema, parseJsonText(await readBodyText(c)), 'body');
}
