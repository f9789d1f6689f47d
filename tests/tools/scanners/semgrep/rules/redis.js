// Test target for tools/scanners/semgrep/rules/redis.yaml (CommonJS, ioredis).
const express = require('express');
const Redis = require('ioredis');
const crypto = require('crypto');

const redis = new Redis(process.env.REDIS_URL);
const client = new Redis({ host: '127.0.0.1' });
const cache = new Map();
const router = express.Router();
const RATE_SCRIPT = "return redis.call('INCR', KEYS[1])";

router.get('/users/:id', async (req, res) => {
  // ruleid: js-redis-key-from-request
  const cached = await redis.get(`user:${req.params.id}`);
  // ruleid: js-redis-key-from-request
  await client.hset('profile:' + req.body.username, 'seen', Date.now());
  // ok: js-redis-key-from-request
  await redis.set('last-lookup', req.params.id);
  // ok: js-redis-key-from-request
  const local = cache.get(req.params.id);
  res.json({ cached, local });
});

router.get('/sessions', async (req, res) => {
  const sid = String(req.cookies.sid);
  // ok: js-redis-key-from-request
  const hashed = await redis.get('session:' + crypto.createHash('sha256').update(sid).digest('hex'));
  const id = req.query.id;
  if (!/^[0-9]+$/.test(id)) return res.status(400).end();
  // ok: js-redis-key-from-request
  const byId = await redis.hgetall(`order:${id}`);
  res.json({ hashed, byId });
});

router.get('/search', async (req, res) => {
  // ruleid: js-redis-pattern-from-request
  const keys = await redis.keys(`product:${req.query.prefix}*`);
  // ruleid: js-redis-pattern-from-request
  const [cursor, found] = await client.scan(0, 'MATCH', req.query.pattern, 'COUNT', 100);
  // ok: js-redis-pattern-from-request
  const all = await redis.keys('product:*');
  const safePrefix = String(req.query.prefix).replace(/[*?[\]\\]/g, '\\$&');
  // ok: js-redis-pattern-from-request
  const escaped = await redis.keys(`product:${safePrefix}*`);
  res.json({ keys, cursor, found, all, escaped });
});

router.post('/admin/script', async (req, res) => {
  // ruleid: js-redis-script-from-request
  const out = await redis.eval(req.body.script, 0);
  // ruleid: js-redis-script-from-request
  const raw = await client.call(req.body.command, req.body.key);
  // ok: js-redis-script-from-request
  const count = await redis.eval(RATE_SCRIPT, 1, `rate:${req.ip}`, req.body.window);
  // ok: js-redis-script-from-request
  const sha = await redis.evalsha(process.env.RATE_SHA, 1, 'rate:global');
  res.json({ out, raw, count, sha });
});

module.exports = router;
