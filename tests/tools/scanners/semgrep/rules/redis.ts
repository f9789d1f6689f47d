// Test target for tools/scanners/semgrep/rules/redis.yaml (TypeScript, node-redis v4).
import { createClient } from 'redis';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { validate as isUuid } from 'uuid';

const redisClient = createClient({ url: process.env.REDIS_URL });
const store = createClient();
const ALLOWED_COMMANDS = new Set(['PING', 'DBSIZE']);

export async function getCart(req: Request, res: Response) {
  // ruleid: js-redis-key-from-request
  const cart = await redisClient.hGetAll(`cart:${req.query.user}`);
  // ruleid: js-redis-key-from-request
  await store.setEx(`otp:${req.body.phone}`, 300, '123456');
  // ok: js-redis-key-from-request
  await store.set(`cart:${createHash('sha256').update(String(req.query.user)).digest('hex')}`, '1');
  const userId = String(req.params.userId);
  if (!isUuid(userId)) {
    return res.status(400).end();
  }
  // ok: js-redis-key-from-request
  const profile = await redisClient.get(`profile:${userId}`);
  res.json({ cart, profile });
}

export async function listKeys(req: Request, res: Response) {
  // ruleid: js-redis-pattern-from-request
  const page = await redisClient.scan(0, { MATCH: `cart:${req.query.q}*`, COUNT: 100 });
  // ruleid: js-redis-pattern-from-request
  const keys = await store.keys(req.query.pattern as string);
  // ok: js-redis-pattern-from-request
  const fixed = await redisClient.scan(0, { MATCH: 'cart:*', COUNT: 100 });
  // ok: js-redis-pattern-from-request
  const n = await redisClient.scan(Number(req.query.cursor), { MATCH: 'cart:*' });
  res.json({ page, keys, fixed, n });
}

export async function runCommand(req: Request, res: Response) {
  // ruleid: js-redis-script-from-request
  const a = await redisClient.sendCommand([req.body.cmd as string, 'x']);
  // ruleid: js-redis-script-from-request
  const b = await redisClient.eval(`return redis.call('GET', '${req.body.key}')`);
  const cmd = String(req.body.cmd);
  if (!ALLOWED_COMMANDS.has(cmd)) return res.status(400).end();
  // ok: js-redis-script-from-request
  const c = await redisClient.sendCommand([cmd]);
  // ok: js-redis-script-from-request
  const d = await redisClient.eval("return redis.call('GET', KEYS[1])", { keys: [String(req.body.key)] });
  res.json({ a, b, c, d });
}
