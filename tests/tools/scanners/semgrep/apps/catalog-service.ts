// A realistic Express + TypeScript service written carefully: the whole rule pack must report
// nothing here (see test_rule_pack.py). Each block is a safe look-alike of a reported fault.
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import session from 'express-session';
import Redis from 'ioredis';
import axios from 'axios';
import jwt from 'jsonwebtoken';
import { Pool } from 'pg';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import https from 'node:https';
import { z } from 'zod';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const JWT_SECRET = required('JWT_SECRET');
const SESSION_SECRET = required('SESSION_SECRET');
const TOKEN_TTL = process.env.TOKEN_TTL || '15m';
const IMAGES_DIR = path.resolve(process.env.IMAGES_DIR ?? './images');
const SUPPLIER_API = 'https://supplier.example.test';
const ALLOWED_ORIGINS = ['https://shop.example.test', 'https://admin.example.test'];
const ALLOWED_CALLBACK_HOSTS = new Set(['hooks.example.test']);
const SORTABLE = new Set(['name', 'price', 'created_at']);

const pool = new Pool({ connectionString: process.env.DATABASE_URL, ssl: { rejectUnauthorized: true } });
const redis = new Redis(required('REDIS_URL'), { tls: { servername: 'cache.example.test' } });
const supplier = axios.create({
  baseURL: SUPPLIER_API,
  timeout: 5000,
  httpsAgent: new https.Agent({ keepAlive: true, ca: process.env.SUPPLIER_CA }),
});

const app = express();
app.use(helmet());
app.use(cors({ origin: ALLOWED_ORIGINS, credentials: true }));
app.use(express.json({ limit: '200kb' }));
app.use(
  session({
    secret: SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, secure: process.env.NODE_ENV === 'production', sameSite: 'lax' },
  }),
);

function requireAuth(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'OPTIONS') return next();
  const token = req.get('authorization')?.replace(/^Bearer /, '');
  if (!token) {
    res.status(401).end();
    return;
  }
  try {
    res.locals.user = jwt.verify(token, JWT_SECRET, { algorithms: ['HS256'], maxAge: TOKEN_TTL });
    next();
  } catch {
    res.status(401).end();
  }
}

app.get('/products', async (req: Request, res: Response) => {
  const sort = String(req.query.sort ?? 'name');
  if (!SORTABLE.has(sort)) {
    res.status(400).json({ error: 'bad sort' });
    return;
  }
  const limit = Math.min(Number(req.query.limit ?? 20), 100);
  const { rows } = await pool.query(`SELECT id, name, price FROM products ORDER BY ${sort} LIMIT $1`, [limit]);
  res.json(rows);
});

app.get('/products/:id', async (req: Request, res: Response) => {
  const id = z.string().uuid().parse(req.params.id);
  const key = `product:${createHash('sha256').update(id).digest('hex')}`;
  const cached = await redis.get(key);
  if (cached) {
    res.type('json').send(cached);
    return;
  }
  const { rows } = await pool.query('SELECT * FROM products WHERE id = $1', [id]);
  await redis.set(key, JSON.stringify(rows[0] ?? null), 'EX', 60);
  res.json(rows[0] ?? null);
});

app.get('/products/:id/stock', async (req: Request, res: Response) => {
  const upstream = await supplier.get(`/stock/${encodeURIComponent(req.params.id)}`);
  res.json(upstream.data);
});

app.get('/images/:name', (req: Request, res: Response) => {
  res.sendFile(path.basename(req.params.name), { root: IMAGES_DIR });
});

app.get('/images/:name/meta', async (req: Request, res: Response) => {
  const full = path.resolve(IMAGES_DIR, req.params.name);
  if (!full.startsWith(IMAGES_DIR + path.sep)) {
    res.status(400).end();
    return;
  }
  res.type('json').send(await readFile(`${full}.json`, 'utf8'));
});

app.post('/thumbnails', requireAuth, (req: Request, res: Response) => {
  const name = path.basename(String(req.body.name));
  execFile('convert', [path.join(IMAGES_DIR, name), '-resize', '128x128', '--', `/tmp/${name}`], (err) => {
    res.sendStatus(err ? 500 : 201);
  });
});

app.post('/webhooks/register', requireAuth, async (req: Request, res: Response) => {
  const url = new URL(String(req.body.url));
  if (!ALLOWED_CALLBACK_HOSTS.has(url.hostname) || url.protocol !== 'https:') {
    res.status(400).json({ error: 'callback host not allowed' });
    return;
  }
  await axios.post(url.toString(), { hello: true }, { timeout: 3000 });
  const secret = randomBytes(32).toString('base64url');
  res.status(201).json({ id: randomUUID(), secret });
});

app.post('/webhooks/incoming', (req: Request, res: Response) => {
  const expected = createHmac('sha256', JWT_SECRET).update(JSON.stringify(req.body)).digest();
  const given = Buffer.from(String(req.get('x-signature') ?? ''), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    res.status(401).end();
    return;
  }
  res.sendStatus(204);
});

app.post('/login/otp', async (req: Request, res: Response) => {
  const code = randomInt(100000, 1000000);
  await redis.set(`otp:${createHash('sha256').update(String(req.body.phone)).digest('hex')}`, String(code), 'EX', 300);
  res.cookie('otp_session', randomUUID(), { httpOnly: true, secure: true, sameSite: 'strict' });
  res.status(202).end();
});

app.get('/go', (req: Request, res: Response) => {
  const next = String(req.query.next ?? '/');
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) {
    res.redirect('/');
    return;
  }
  res.redirect(next);
});

app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
  const id = randomUUID();
  console.error(id, err);
  const backoff = Math.random() * 100;
  res.setHeader('Retry-After', Math.ceil(backoff / 10));
  res.status(500).json({ error: 'internal error', id });
});

export default app;
