// A realistic Express + TypeScript service used to measure the whole rule pack's precision:
// every finding must be on a line annotated `ruleid:` (see test_rule_pack.py).
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import cookieParser from 'cookie-parser';
import Redis from 'ioredis';
import axios from 'axios';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import { Pool } from 'pg';
import { randomBytes, createHmac, timingSafeEqual, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { Queue } from 'bullmq';

// ---------------------------------------------------------------- configuration
const PORT = Number(process.env.PORT ?? 3000);
// ruleid: js-secret-env-fallback
const JWT_SECRET = process.env.JWT_SECRET || 'dev-only-secret';
const WEBHOOK_SECRET = process.env.WEBHOOK_SECRET;
const PARTNER_API = process.env.PARTNER_API_URL ?? 'https://partner.example.test';
const EXPORT_DIR = path.resolve(process.env.EXPORT_DIR ?? './exports');
const ALLOWED_ORIGINS = (process.env.CORS_ORIGINS ?? 'https://shop.example.test').split(',');

if (!WEBHOOK_SECRET) {
  throw new Error('WEBHOOK_SECRET is not set');
}

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  // ruleid: js-tls-reject-unauthorized-off
  ssl: { rejectUnauthorized: false },
});
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const emails = new Queue('emails', { connection: redis });
const partner = axios.create({ baseURL: PARTNER_API, timeout: 5000 });

// ---------------------------------------------------------------- app
const app = express();
app.disable('x-powered-by');
app.use(helmet());
app.use(cors({ origin: ALLOWED_ORIGINS, credentials: true }));
app.use(cookieParser());
app.use('/webhooks', express.raw({ type: 'application/json', limit: '256kb' }));
// ruleid: js-express-body-limit-too-large
app.use(express.json({ limit: '25mb' }));

interface AuthedRequest extends Request {
  user?: JwtPayload;
}

function requireAuth(req: AuthedRequest, res: Response, next: NextFunction): void {
  const header = req.get('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : req.cookies.session;
  if (!token) {
    res.status(401).json({ error: 'missing token' });
    return;
  }
  try {
    req.user = jwt.verify(token, JWT_SECRET, { algorithms: ['HS256'], issuer: 'orders' }) as JwtPayload;
    next();
  } catch {
    res.status(401).json({ error: 'invalid token' });
  }
}

function requireAdmin(req: AuthedRequest, res: Response, next: NextFunction): void {
  // ruleid: js-auth-bypass-non-production
  if (process.env.NODE_ENV !== 'production') {
    return next();
  }
  if (req.user?.role !== 'admin') {
    res.status(403).end();
    return;
  }
  next();
}

// ---------------------------------------------------------------- auth routes
const auth = Router();

auth.post('/login', async (req: Request, res: Response) => {
  const { email, password } = z.object({ email: z.string().email(), password: z.string() }).parse(req.body);
  const { rows } = await pool.query('SELECT id, role, password_hash FROM users WHERE email = $1', [email]);
  const user = rows[0];
  if (!user || !(await checkPassword(password, user.password_hash))) {
    res.status(401).json({ error: 'bad credentials' });
    return;
  }
  const token = jwt.sign({ sub: String(user.id), role: user.role }, JWT_SECRET, {
    algorithm: 'HS256',
    issuer: 'orders',
    expiresIn: '1h',
  });
  res.cookie('session', token, { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 3_600_000 });
  res.json({ ok: true });
});

auth.post('/password-reset', async (req: Request, res: Response) => {
  const email = String(req.body.email);
  // ruleid: js-math-random-secret
  const resetToken = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  await redis.set(`reset:${createHash('sha256').update(email).digest('hex')}`, resetToken, 'EX', 900);
  await emails.add('reset', { email, resetToken });
  res.status(202).end();
});

auth.post('/password-reset/confirm', async (req: Request, res: Response) => {
  const email = String(req.body.email);
  const stored = await redis.get(`reset:${createHash('sha256').update(email).digest('hex')}`);
  // ruleid: js-timing-unsafe-secret-compare
  if (!stored || stored !== req.body.resetToken) {
    res.status(400).json({ error: 'invalid token' });
    return;
  }
  res.json({ ok: true });
});

// ---------------------------------------------------------------- orders
const orders = Router();
orders.use(requireAuth);

orders.get('/', async (req: AuthedRequest, res: Response) => {
  const sort = req.query.sort === 'total' ? 'total' : 'created_at';
  const { rows } = await pool.query(
    `SELECT id, total, status FROM orders WHERE user_id = $1 ORDER BY ${sort} DESC LIMIT 50`,
    [req.user?.sub],
  );
  res.json(rows);
});

orders.get('/search', async (req: AuthedRequest, res: Response) => {
  const status = String(req.query.status ?? 'open');
  // ruleid: js-sql-injection
  const { rows } = await pool.query(`SELECT id, total FROM orders WHERE status = '${status}' AND user_id = $1`, [
    req.user?.sub,
  ]);
  res.json(rows);
});

orders.get('/:id', async (req: AuthedRequest, res: Response, next: NextFunction) => {
  try {
    // ruleid: js-redis-key-from-request
    const cached = await redis.get(`order:${req.params.id}`);
    if (cached) {
      res.type('json').send(cached);
      return;
    }
    const { rows } = await pool.query('SELECT * FROM orders WHERE id = $1 AND user_id = $2', [
      req.params.id,
      req.user?.sub,
    ]);
    if (!rows[0]) {
      res.status(404).end();
      return;
    }
    await redis.set(`order:${rows[0].id}`, JSON.stringify(rows[0]), 'EX', 60);
    res.json(rows[0]);
  } catch (err) {
    next(err);
  }
});

orders.post('/:id/track', async (req: AuthedRequest, res: Response) => {
  try {
    const carrier = await partner.get(`/tracking/${encodeURIComponent(req.params.id)}`);
    // ruleid: js-ssrf-request-url
    const hook = await axios.post(req.body.callbackUrl, { tracking: carrier.data });
    res.json({ delivered: hook.status < 300 });
  } catch (err) {
    // ruleid: js-express-error-details-leak
    res.status(502).json({ error: (err as Error).message });
  }
});

orders.get('/:id/invoice', async (req: AuthedRequest, res: Response) => {
  const file = path.join(EXPORT_DIR, `${Number(req.params.id)}.pdf`);
  const info = await stat(file);
  res.setHeader('Content-Length', info.size);
  createReadStream(file).pipe(res);
});

orders.get('/exports/:name', requireAdmin, (req: Request, res: Response) => {
  // ruleid: js-path-traversal
  res.download(path.join(EXPORT_DIR, req.params.name));
});

orders.get('/exports-safe/:name', requireAdmin, (req: Request, res: Response) => {
  res.sendFile(path.basename(req.params.name), { root: EXPORT_DIR });
});

// ---------------------------------------------------------------- webhooks
const webhooks = Router();

webhooks.post('/partner', (req: Request, res: Response) => {
  const expected = createHmac('sha256', WEBHOOK_SECRET).update(req.body).digest();
  const given = Buffer.from(String(req.get('x-signature') ?? ''), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    res.status(401).end();
    return;
  }
  res.status(204).end();
});

// ---------------------------------------------------------------- wiring
app.get('/health', (_req: Request, res: Response) => {
  res.json({ ok: true, id: randomBytes(8).toString('hex') });
});
app.get('/login', (req: Request, res: Response) => {
  const next = String(req.query.next ?? '/');
  // ruleid: js-express-open-redirect
  res.redirect(next);
});
app.use('/auth', auth);
app.use('/orders', orders);
app.use('/webhooks', webhooks);

app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
  console.error(err);
  res.status(500).json({ error: 'internal error' });
});

async function checkPassword(password: string, hash: string): Promise<boolean> {
  const computed = createHash('sha256').update(password).digest('hex');
  return computed.length === hash.length && timingSafeEqual(Buffer.from(computed), Buffer.from(hash));
}

app.listen(PORT);
