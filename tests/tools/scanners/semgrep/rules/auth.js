// Test target for tools/scanners/semgrep/rules/auth.yaml (CommonJS).
const jwt = require('jsonwebtoken');
const { verify: verifyJwt } = require('jsonwebtoken');
const argon2 = require('argon2');
const express = require('express');

const app = express();
// ruleid: js-secret-env-fallback
const JWT_SECRET = process.env.JWT_SECRET || 'changeme';
// ruleid: js-secret-env-fallback
const SESSION_SECRET = process.env.SESSION_SECRET ?? 'keyboard cat';
// ruleid: js-secret-env-fallback
const { STRIPE_API_KEY = 'sk_test_placeholder' } = process.env;
// ok: js-secret-env-fallback
const TOKEN_TTL = process.env.TOKEN_TTL || '15m';
// ok: js-secret-env-fallback
const PUBLIC_KEY = process.env.PUBLIC_KEY_PATH || './keys/public.pem';
// ok: js-secret-env-fallback
const DB_PASSWORD = process.env.DB_PASSWORD;
// ok: js-secret-env-fallback
const REDIS_PASSWORD = process.env.REDIS_PASSWORD || '';
// ok: js-secret-env-fallback
const PORT = process.env.PORT || '3000';

function authenticate(req, res, next) {
  // ok: js-auth-bypass-non-production
  if (req.method === 'OPTIONS') return next();
  // ruleid: js-auth-bypass-non-production
  if (process.env.NODE_ENV !== 'production') {
    return next();
  }
  const token = (req.headers.authorization || '').replace(/^Bearer /, '');
  // ruleid: js-jwt-verify-no-algorithms
  jwt.verify(token, JWT_SECRET, (err, claims) => {
    if (err) return res.status(401).end();
    req.user = claims;
    next();
  });
}

function requestLogger(req, res, next) {
  // ok: js-auth-bypass-non-production
  if (process.env.NODE_ENV === 'test') return next();
  console.info(req.method, req.originalUrl);
  next();
}

function authenticateStrict(req, res, next) {
  // ok: js-auth-bypass-non-production
  if (process.env.NODE_ENV !== 'production') console.debug('auth check for', req.path);
  try {
    // ok: js-jwt-verify-no-algorithms
    req.user = jwt.verify(req.cookies.token, JWT_SECRET, { algorithms: ['HS256'], issuer: 'api' });
    next();
  } catch (err) {
    res.status(401).end();
  }
}

function authenticateRsa(req, res, next) {
  // ruleid: js-jwt-verify-no-algorithms
  const claims = verifyJwt(req.get('x-token'), process.env.PUBLIC_KEY, { issuer: 'idp' });
  req.user = claims;
  next();
}

function legacy(req, res, next) {
  // ruleid: js-jwt-none-algorithm
  req.user = jwt.verify(req.query.t, '', { algorithms: ['HS256', 'none'] });
  next();
}

// ruleid: js-jwt-none-algorithm
const unsigned = jwt.sign({ sub: 'svc' }, null, { algorithm: 'none' });
// ok: js-jwt-none-algorithm
const signed = jwt.sign({ sub: 'svc' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '15m' });

function whoAmI(req, res) {
  // ruleid: js-jwt-decode-as-verify
  const claims = jwt.decode(req.headers.authorization.slice(7));
  if (claims && claims.role === 'admin') return res.json({ admin: true });
  res.json({ admin: false });
}

function pickKey(req, res, next) {
  // ok: js-jwt-decode-as-verify
  const header = jwt.decode(req.cookies.token, { complete: true }).header;
  const key = keys[header.kid];
  req.user = jwt.verify(req.cookies.token, key, { algorithms: ['RS256'] });
  next();
}

// ok: js-jwt-decode-as-verify
const expiresAt = (token) => jwt.decode(token).exp * 1000;

async function login(req, res) {
  const user = await findUser(req.body.email);
  // ok: js-jwt-verify-no-algorithms
  const good = await argon2.verify(user.passwordHash, req.body.password);
  res.json({ good });
}

// ruleid: js-auth-bypass-non-production
if (process.env.NODE_ENV === 'production') app.use('/api', authenticate);

app.get('/me', authenticate, whoAmI);
app.post('/login', login);
app.use(requestLogger, authenticateStrict, authenticateRsa, legacy, pickKey);
module.exports = { app, unsigned, signed, expiresAt, SESSION_SECRET, STRIPE_API_KEY, TOKEN_TTL, PUBLIC_KEY, DB_PASSWORD, REDIS_PASSWORD, PORT };
