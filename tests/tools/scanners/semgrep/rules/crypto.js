// Test target for tools/scanners/semgrep/rules/crypto.yaml (CommonJS).
const crypto = require('crypto');

const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function generateToken(length) {
  let out = '';
  for (let i = 0; i < length; i++) {
    // ruleid: js-math-random-secret
    out += CHARS[Math.floor(Math.random() * CHARS.length)];
  }
  return out;
}

// ruleid: js-math-random-secret
const resetCode = Math.floor(100000 + Math.random() * 900000);

const session = {
  // ruleid: js-math-random-secret
  sid: Math.random().toString(36).slice(2),
  createdAt: Date.now(),
};

// ruleid: js-math-random-secret
const uploadSuffix = Math.random().toString(36).substring(2, 10);

// ok: js-math-random-secret
const retryDelayMs = Math.random() * 1000;
// ok: js-math-random-secret
const elementId = 'el-' + Math.random().toString(36).slice(2);
// ok: js-math-random-secret
const token = crypto.randomBytes(32).toString('base64url');
// ok: js-math-random-secret
const sample = items[Math.floor(Math.random() * items.length)];
// ok: js-math-random-secret
const todo = { id: Math.random().toString(36).slice(2), title: 'buy milk' };

function checkWebhook(req, res) {
  const expected = crypto.createHmac('sha256', process.env.WEBHOOK_SECRET).update(req.rawBody).digest('hex');
  // ruleid: js-timing-unsafe-secret-compare
  if (req.get('x-hub-signature-256') !== 'sha256=' + expected && expected !== req.query.signature) {
    return res.status(401).end();
  }
  // ruleid: js-timing-unsafe-secret-compare
  if (req.headers['x-api-key'] == process.env.API_KEY) return res.json({ ok: true });
  const a = Buffer.from(expected);
  const b = Buffer.from(String(req.query.signature));
  // ok: js-timing-unsafe-secret-compare
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return res.status(401).end();
  // ok: js-timing-unsafe-secret-compare
  if (req.query.token === undefined) return res.status(400).end();
  // ok: js-timing-unsafe-secret-compare
  if (typeof req.query.token !== 'string') return res.status(400).end();
  // ok: js-timing-unsafe-secret-compare
  if (req.body.password !== req.body.confirmPassword) return res.status(400).end();
  // ok: js-timing-unsafe-secret-compare
  if (req.body.token.length !== 64) return res.status(400).end();
  res.json({ token, session, resetCode, uploadSuffix, retryDelayMs, elementId, sample, todo, t: generateToken(8) });
}

module.exports = { checkWebhook };
