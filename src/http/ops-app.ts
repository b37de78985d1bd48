import express, { type Request, type Response } from 'express';
import type { Metrics } from '../metrics.js';
import { type AdminDeps, createAdminRouter } from './admin.js';
import { sendError } from './reply.js';

export interface OpsDeps extends AdminDeps {
  readonly metrics: Metrics;
  /** Reasons the relay is not ready; empty when it is. */
  readiness(): Promise<string[]>;
}

/** The ops port: probes, metrics and the admin API. Never exposed through the ingress. */
export function createOpsApp(deps: OpsDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req: Request, res: Response) => {
    const reasons = await deps.readiness();
    res.status(reasons.length === 0 ? 200 : 503).json(reasons.length === 0 ? { status: 'ready' } : { status: 'unready', reasons });
  });
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use('/admin', createAdminRouter(deps));
  app.use((_req: Request, res: Response) => sendError(res, 404, 'not found'));
  return app;
}
