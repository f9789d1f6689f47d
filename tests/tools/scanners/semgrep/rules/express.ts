// Test target for tools/scanners/semgrep/rules/express.yaml (TypeScript, ES modules).
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import cors, { type CorsOptions } from 'cors';
import helmet from 'helmet';
import cookieSession from 'cookie-session';

// ruleid: js-express-x-powered-by, js-express-no-helmet
export const app: Express = express();

export function createSecureApp(): Express {
  // ok: js-express-x-powered-by, js-express-no-helmet
  const secure: Express = express();
  secure.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'self'"] } } }));
  secure.use(express.json({ limit: '100kb' }));
  return secure;
}

export function createInternalApp(): Express {
  // ruleid: js-express-no-helmet
  const internal = express();
  internal.set('x-powered-by', false);
  return internal;
}

// ok: js-express-x-powered-by
// ruleid: js-express-no-helmet
const metrics = express();
metrics.use(express.json());
metrics.use(helmet.hidePoweredBy(), helmet.noSniff());
// ok: js-express-x-powered-by
// ruleid: js-express-no-helmet
const status = express();
status.use(helmet.hidePoweredBy());

// ruleid: js-express-body-limit-too-large
app.use(express.json({ limit: 52428800 }));
// ruleid: js-express-body-limit-too-large
app.use(express.text({ type: 'text/csv', limit: '10MB' }));
// ok: js-express-body-limit-too-large
app.use(express.raw({ limit: '5mb' }));
// ok: js-express-body-limit-too-large
app.use(express.json({ strict: true, limit: 1048576 }));

const corsOptions: CorsOptions = {
  origin: true,
  credentials: true,
};
// ruleid: js-cors-credentials-any-origin
app.use(cors(corsOptions));
// ruleid: js-cors-credentials-any-origin
app.use(cors({ credentials: true, origin: function (origin, callback) { callback(null, origin); } }));
const allowList = ['https://app.example.test', 'https://admin.example.test'];
// ok: js-cors-credentials-any-origin
app.use(cors({ credentials: true, origin: (origin, cb) => cb(null, !!origin && allowList.includes(origin)) }));
// ok: js-cors-credentials-any-origin
app.use(cors({ origin: '*' }));

app.use(
  cookieSession({
    name: 'session',
    keys: [String(process.env.COOKIE_KEY)],
    // ruleid: js-insecure-session-cookie
    httpOnly: false,
  }),
);
// ok: js-insecure-session-cookie
app.use(cookieSession({ name: 'session', keys: ['k'], secure: true, httpOnly: true }));

app.post('/token', (req: Request, res: Response) => {
  const jwt = sign(req.body);
  // ruleid: js-insecure-session-cookie
  res.cookie('jwt', jwt, { httpOnly: false, secure: true });
  // ruleid: js-insecure-session-cookie
  res.cookie('sid', jwt, { secure: false, httpOnly: true });
  // ok: js-insecure-session-cookie
  res.cookie('access_token', jwt, { ...cookieDefaults, maxAge: 900_000 });
  // ok: js-insecure-session-cookie
  res.cookie('locale', String(req.query.lang), { maxAge: 31_536_000_000 });
  res.end();
});

app.get('/login/callback', (req: Request, res: Response) => {
  const next = req.query.next as string;
  // ruleid: js-express-open-redirect
  res.redirect(next);
});

app.get('/out', (req: Request, res: Response) => {
  // ruleid: js-express-open-redirect
  res.location(`//${req.get('x-forwarded-host')}/landing`).sendStatus(302);
});

app.get('/search', (req: Request, res: Response) => {
  // ok: js-express-open-redirect
  res.redirect(`/results?q=${encodeURIComponent(String(req.query.q))}`);
});

app.get('/continue', (req: Request, res: Response) => {
  const dest = String(req.query.dest);
  if (!isSafeRedirect(dest)) {
    return res.status(400).send('bad redirect');
  }
  // ok: js-express-open-redirect
  res.redirect(dest);
});

app.get('/items/:id', async (req: Request, res: Response) => {
  try {
    res.json(await findItem(req.params.id));
  } catch (e: unknown) {
    // ruleid: js-express-error-details-leak
    res.status(500).json({ message: (e as Error).message, e });
  }
});

app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
  // ruleid: js-express-error-details-leak
  res.status(500).send(`Internal error: ${err.stack}`);
});

app.use((err: Error & { status?: number }, req: Request, res: Response, _next: NextFunction) => {
  console.error(err);
  // ok: js-express-error-details-leak
  res.status(err.status ?? 500).json({ error: 'internal error' });
});

app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
  if (process.env.NODE_ENV === 'development') {
    // ok: js-express-error-details-leak
    return res.status(500).send(err.stack);
  }
  res.sendStatus(500);
});

declare const cookieDefaults: object;
declare function sign(body: unknown): string;
declare function isSafeRedirect(url: string): boolean;
declare function findItem(id: string): Promise<unknown>;
export { metrics, status };
