import express, { type Request, type Response } from 'express';
import type { Metrics } from '../metrics.js';
import { type AdminDeps, createAdminRouter } from './admin.js';
import { mountDashboard } from './dashboard.js';
import { sendError } from './reply.js';

export interface OpsDeps extends AdminDeps {
  readonly metrics: Metrics;
  /** Reasons the relay is not ready (empty when it is), and problems worth a look that do not stop it serving. */
  readiness(): Promise<{ reasons: string[]; warnings: string[] }>;
}

/** The ops port: probes, metrics and the admin API. Never exposed through the ingress. */
export function createOpsApp(deps: OpsDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req: Request, res: Response) => {
    const { reasons, warnings } = await deps.readiness();
    const ready = reasons.length === 0;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unready',
      ...(ready ? {} : { reasons }),
      ...(warnings.length ? { warnings } : {}),
    });
  });
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  // Before the admin router: the dashboard also takes its browser session cookie (see dashboard.ts).
  mountDashboard(app, deps);
  app.use('/admin', createAdminRouter(deps));
  app.use((_req: Request, res: Response) => sendError(res, 404, 'not found'));
  return app;
}
