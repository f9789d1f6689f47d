// Test target for tools/scanners/semgrep/rules/express.yaml (CommonJS).
const express = require('express');
const bodyParser = require('body-parser');
const cors = require('cors');
const session = require('express-session');
const helmet = require('helmet');

// ruleid: js-express-x-powered-by, js-express-no-helmet
const app = express();
app.use(bodyParser.json());

function makeAdminApp() {
  // ok: js-express-x-powered-by
  // ruleid: js-express-no-helmet
  const admin = express();
  admin.disable('x-powered-by');
  admin.use(helmet.frameguard());
  return admin;
}

function makeApiApp() {
  // ok: js-express-x-powered-by, js-express-no-helmet
  const api = express();
  api.use(helmet());
  return api;
}

// ruleid: js-express-body-limit-too-large
app.use(express.json({ limit: '50mb' }));
// ruleid: js-express-body-limit-too-large
app.use(bodyParser.urlencoded({ extended: true, limit: 20 * 1024 * 1024 }));
// ruleid: js-express-body-limit-too-large
app.use(bodyParser.raw({ type: 'application/octet-stream', limit: '1gb' }));
// ok: js-express-body-limit-too-large
app.use(express.json({ limit: '1mb' }));
// ok: js-express-body-limit-too-large
app.use(bodyParser.text({ limit: 512 * 1024 }));
// ok: js-express-body-limit-too-large
app.use(express.urlencoded({ extended: false }));

// ruleid: js-cors-credentials-any-origin
app.use(cors({ origin: true, credentials: true }));
// ruleid: js-cors-credentials-any-origin
app.use(cors({ credentials: true, origin: (origin, cb) => cb(null, true) }));
// ok: js-cors-credentials-any-origin
app.use(cors({ origin: ['https://app.example.test'], credentials: true }));
// ok: js-cors-credentials-any-origin
app.use(cors({ origin: true }));

app.use((req, res, next) => {
  // ruleid: js-cors-credentials-any-origin
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  next();
});

app.use((req, res, next) => {
  const origin = req.get('origin');
  // ok: js-cors-credentials-any-origin
  if (ALLOWED_ORIGINS.includes(origin)) res.setHeader('Access-Control-Allow-Origin', 'https://app.example.test');
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  next();
});

app.use(
  session({
    secret: process.env.SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    // ruleid: js-insecure-session-cookie
    cookie: { secure: false, maxAge: 3600000 },
  }),
);

app.post('/login', (req, res) => {
  const token = issueToken(req.body.user);
  // ruleid: js-insecure-session-cookie
  res.cookie('session_token', token);
  // ruleid: js-insecure-session-cookie
  res.cookie('refreshToken', token, { maxAge: 86400000, sameSite: 'lax' });
  // ok: js-insecure-session-cookie
  res.cookie('auth', token, { httpOnly: true, secure: true, sameSite: 'strict' });
  // ok: js-insecure-session-cookie
  res.cookie('theme', 'dark');
  // ok: js-insecure-session-cookie
  res.cookie('XSRF-TOKEN', req.csrfToken(), { sameSite: 'strict' });
  // ok: js-express-open-redirect
  res.redirect('/dashboard');
});

app.get('/go', (req, res) => {
  // ruleid: js-express-open-redirect
  res.redirect(req.query.next);
});

app.get('/after-login', (req, res) => {
  const returnTo = req.body.returnTo || '/';
  // ruleid: js-express-open-redirect
  res.redirect(302, returnTo);
});

app.get('/users/:id', (req, res) => {
  // ok: js-express-open-redirect
  res.redirect('/profiles/' + encodeURIComponent(req.params.id));
});

app.get('/back', (req, res) => {
  const target = String(req.query.to);
  if (!ALLOWED_TARGETS.has(target)) return res.redirect('/');
  // ok: js-express-open-redirect
  return res.redirect(target);
});

app.get('/continue', (req, res) => {
  const next = String(req.query.next || '/');
  if (!next.startsWith('/') || next.startsWith('//')) return res.redirect('/');
  // ok: js-express-open-redirect
  res.redirect(next);
});

app.get('/report/:id', async (req, res) => {
  try {
    res.json(await loadReport(req.params.id));
  } catch (err) {
    // ruleid: js-express-error-details-leak
    res.status(500).send(err.stack);
  }
});

app.get('/export', (req, res) => {
  exportAll()
    .then((file) => res.download(file))
    // ruleid: js-express-error-details-leak
    .catch((error) => res.status(500).json({ error: error.message }));
});

app.get('/health', async (req, res) => {
  try {
    await ping();
    res.send('ok');
  } catch (err) {
    console.error(err);
    // ok: js-express-error-details-leak
    res.status(503).json({ error: 'unavailable', code: err.code });
  }
});

// eslint-disable-next-line no-unused-vars
app.use(function onError(err, req, res, next) {
  if (err instanceof ValidationError) {
    // ok: js-express-error-details-leak
    return res.status(400).json({ error: err.message });
  }
  // ruleid: js-express-error-details-leak
  res.status(500).send(err);
});

module.exports = { app, makeAdminApp, makeApiApp };
