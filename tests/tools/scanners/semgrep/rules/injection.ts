// Test target for tools/scanners/semgrep/rules/injection.yaml (TypeScript, ES modules).
import express, { type Request, type Response } from 'express';
import axios from 'axios';
import { readFile, writeFile } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import * as cp from 'node:child_process';
import { execSync } from 'child_process';
import vm from 'node:vm';
import knex from 'knex';
import { Sequelize } from 'sequelize';
import { PrismaClient } from '@prisma/client';
import { z } from 'zod';
import merge from 'lodash.merge';

const router = express.Router();
const db = knex({ client: 'pg' });
const sequelize = new Sequelize(process.env.DATABASE_URL as string);
const prisma = new PrismaClient();
const api = axios.create({ baseURL: 'https://api.example.test' });
const BASE_DIR = '/srv/data';
const ALLOWED_HOSTS = new Set(['hooks.example.test']);

router.get('/fetch', async (req: Request, res: Response) => {
  const url = req.query.url as string;
  // ruleid: js-ssrf-request-url
  const r = await api.get(url);
  // ruleid: js-ssrf-request-url
  const s = await axios({ method: 'get', url: `${req.query.scheme}://${req.query.host}/x` });
  res.json({ a: r.data, b: s.data });
});

router.post('/hooks', async (req: Request, res: Response) => {
  const target = new URL(String(req.body.url));
  if (!ALLOWED_HOSTS.has(target.host)) return res.status(400).end();
  // ok: js-ssrf-request-url
  await fetch(target);
  // ok: js-ssrf-request-url
  await api.get(`/items/${encodeURIComponent(String(req.body.id))}`);
  res.end();
});

router.get('/notes/:name', async (req: Request, res: Response) => {
  // ruleid: js-path-traversal
  const text = await readFile(`${BASE_DIR}/notes/${req.params.name}`, 'utf8');
  // ruleid: js-path-traversal
  await fsp.writeFile(path.join(BASE_DIR, req.body.name as string), req.body.content);
  // ruleid: js-path-traversal
  res.sendFile(path.resolve(BASE_DIR, String(req.query.f)));
  res.send(text);
});

router.get('/notes-safe/:name', async (req: Request, res: Response) => {
  // ok: js-path-traversal
  const text = await readFile(path.join(BASE_DIR, path.basename(req.params.name)), 'utf8');
  // ok: js-path-traversal
  await writeFile(path.join(BASE_DIR, 'last-read.txt'), text);
  // ok: js-path-traversal
  res.download(req.params.name, 'note.txt', { root: BASE_DIR });
});

router.post('/archive', (req: Request, res: Response) => {
  // ruleid: js-command-injection
  const out = execSync('tar czf /tmp/a.tgz ' + req.body.folder);
  // ruleid: js-command-injection
  cp.spawn('sh', ['-c', `du -sh ${req.query.dir}`]);
  // ruleid: js-command-injection
  cp.execFile(req.body.tool as string, [], { shell: true });
  // ok: js-command-injection
  cp.execFile('tar', ['czf', '/tmp/a.tgz', '--', String(req.body.folder)]);
  // ok: js-command-injection
  const re = /^([a-z]+)$/;
  // ok: js-command-injection
  const m = re.exec(String(req.query.name));
  res.send({ out: out.toString(), m });
});

router.post('/rules', (req: Request, res: Response) => {
  // ruleid: js-code-injection
  const fn = new Function('ctx', req.body.rule as string);
  // ruleid: js-code-injection
  const script = new vm.Script(String(req.body.source));
  // ruleid: js-code-injection
  setTimeout(`notify('${req.query.user}')`, 10);
  // ok: js-code-injection
  setInterval(() => console.log(req.query.user), 1000);
  // ok: js-code-injection
  const data = JSON.parse(String(req.body.payload));
  res.json({ r: fn(data), s: script.runInNewContext({}) });
});

router.get('/search', async (req: Request, res: Response) => {
  const term = String(req.query.q);
  // ruleid: js-sql-injection
  const rows = await db.raw(`SELECT * FROM products WHERE name LIKE '%${term}%'`);
  // ruleid: js-sql-injection
  const [hits] = await sequelize.query('SELECT * FROM tags WHERE tag = ' + req.query.tag);
  // ruleid: js-sql-injection
  const p = await prisma.$queryRawUnsafe(`SELECT * FROM users WHERE email = '${req.body.email}'`);
  // ok: js-sql-injection
  const safe = await db.raw('SELECT * FROM products WHERE name LIKE ?', [`%${term}%`]);
  // ok: js-sql-injection
  const tagged = await prisma.$queryRaw`SELECT * FROM users WHERE email = ${req.body.email}`;
  // ok: js-sql-injection
  const [named] = await sequelize.query('SELECT * FROM tags WHERE tag = :tag', { replacements: { tag: req.query.tag } });
  res.json({ rows, hits, p, safe, tagged, named });
});

const Prefs = z.object({ theme: z.enum(['light', 'dark']) });

router.post('/prefs', (req: Request, res: Response) => {
  const current = { theme: 'light' };
  // ruleid: js-prototype-pollution-merge
  merge(current, req.body);
  const state: Record<string, Record<string, unknown>> = {};
  // ruleid: js-prototype-pollution-merge
  state[req.body.section][req.body.key] = req.body.value;
  // ok: js-prototype-pollution-merge
  merge(current, Prefs.parse(req.body));
  // ok: js-prototype-pollution-merge
  const copy = { ...current, ...req.body };
  res.json({ current, state, copy });
});

export default router;
