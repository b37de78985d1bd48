import type { Request, Response } from 'express';
import type { z } from 'zod';
import { errorMessage, RelayError } from '../errors.js';
import { sendError } from './reply.js';

/** The status each `RelayError` code of the admin API answers with; any other failure is Redis's: 503. */
const statusOf: Readonly<Record<string, number>> = {
  bad_request: 400,
  not_found: 404,
  not_replayable: 409,
  read_only: 409,
  exists: 409,
};

/** An admin route whose failures become one JSON error line with the status their code says. */
export const adminRoute =
  (fn: (req: Request, res: Response) => Promise<void>) =>
  async (req: Request, res: Response): Promise<void> => {
    try {
      await fn(req, res);
    } catch (err) {
      const status = err instanceof RelayError ? statusOf[err.code] : undefined;
      if (status !== undefined) return sendError(res, status, (err as RelayError).message);
      sendError(res, 503, `Redis unavailable: ${errorMessage(err)}`);
    }
  };

/** The parsed input, or undefined once a 400 naming each problem was sent. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, res: Response): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  sendError(
    res,
    400,
    result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
  return undefined;
}
