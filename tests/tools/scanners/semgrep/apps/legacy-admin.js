// A realistic (and old-fashioned) Express admin back office in CommonJS, used to measure the whole
// rule pack's precision: every finding must be on a line annotated `ruleid:` (see test_rule_pack.py).
'use strict';

const express = require('express');
const session = require('express-session');
const RedisStore = require('connect-redis').default;
const bodyParser = require('body-parser');
const { createClient } = require('redis');
const jwt = require('jsonwebtoken');
const _ = require('lodash');
const { exec, execFile } = require('child_process');
const fs = require('fs');
const path = require('path');
const https = require('https');
const crypto = require('crypto');
const mysql = require('mysql2');

if (process.env.ALLOW_SELF_SIGNED === '1') {
  // ruleid: js-tls-verification-disabled-globally
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
}

const redisClient = createClient({ url: process.env.REDIS_URL });
redisClient.connect().catch(console.error);
const db = mysql.createPool({ uri: process.env.MYSQL_URL }).promise();
const REPORTS = path.join(__dirname, 'reports');
const settingsDefaults = { theme: 'light', pageSize: 20 };

// ruleid: js-express-x-powered-by, js-express-no-helmet
const app = express();
app.set('trust proxy', 1);
app.use(bodyParser.urlencoded({ extended: false }));
app.use(bodyParser.json({ limit: '1mb' }));
app.use(
  session({
    store: new RedisStore({ client: redisClient, prefix: 'admin:' }),
    secret: process.env.SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, secure: true, sameSite: 'strict', maxAge: 8 * 3600 * 1000 },
  }),
);

app.use(function allowPartnerPortal(req, res, next) {
  // ruleid: js-cors-credentials-any-origin
  res.header('Access-Control-Allow-Origin', req.get('Origin'));
  res.header('Access-Control-Allow-Credentials', 'true');
  res.header('Access-Control-Allow-Headers', 'Content-Type');
  next();
});

function apiToken(req, res, next) {
  const token = req.get('x-admin-token');
  // ruleid: js-jwt-verify-no-algorithms
  jwt.verify(token, process.env.ADMIN_PUBLIC_KEY, function (err, claims) {
    if (err) return res.status(401).send('unauthorized');
    req.admin = claims;
    next();
  });
}

function whoIsCalling(req, res) {
  // ruleid: js-jwt-decode-as-verify
  const claims = jwt.decode(req.get('x-admin-token'));
  res.json({ user: claims && claims.sub });
}

app.get('/admin/whoami', whoIsCalling);

app.post('/admin/settings', apiToken, function (req, res) {
  // ruleid: js-prototype-pollution-merge
  const merged = _.merge({}, settingsDefaults, req.body.settings);
  redisClient.set('admin:settings', JSON.stringify(merged)).then(() => res.json(merged));
});

app.post('/admin/backup', apiToken, function (req, res) {
  const name = req.body.name || 'nightly';
  // ruleid: js-command-injection
  exec('mysqldump shop > /backups/' + name + '.sql', function (err) {
    if (err) {
      // ruleid: js-express-error-details-leak
      return res.status(500).send(err.message);
    }
    res.send('ok');
  });
});

app.post('/admin/rotate-logs', apiToken, function (req, res) {
  execFile('/usr/sbin/logrotate', ['-f', '/etc/logrotate.d/shop'], function (err) {
    res.sendStatus(err ? 500 : 204);
  });
});

app.get('/admin/reports/:file', apiToken, function (req, res) {
  // ruleid: js-path-traversal
  fs.readFile(REPORTS + '/' + req.params.file, 'utf8', function (err, text) {
    if (err) return res.sendStatus(404);
    res.type('text/csv').send(text);
  });
});

app.get('/admin/users', apiToken, async function (req, res) {
  const page = parseInt(req.query.page, 10) || 0;
  const [rows] = await db.query('SELECT id, email FROM users ORDER BY id LIMIT 50 OFFSET ' + page * 50);
  res.json(rows);
});

app.get('/admin/users/find', apiToken, async function (req, res) {
  // ruleid: js-sql-injection
  const [rows] = await db.query("SELECT id, email FROM users WHERE email LIKE '%" + req.query.q + "%'");
  res.json(rows);
});

app.post('/admin/formula', apiToken, function (req, res) {
  // ruleid: js-code-injection
  const price = Function('base', 'return ' + req.body.formula)(100);
  res.json({ price });
});

app.post('/admin/invite', apiToken, function (req, res) {
  const invite = crypto.randomBytes(16).toString('hex');
  // ruleid: js-insecure-session-cookie
  res.cookie('invite_token', invite);
  res.json({ invite });
});

app.get('/admin/keys', apiToken, async function (req, res) {
  // ruleid: js-redis-pattern-from-request
  const keys = await redisClient.keys('admin:' + req.query.prefix + '*');
  res.json(keys);
});

app.get('/admin/mirror', apiToken, function (req, res) {
  const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync('/etc/ssl/partner-ca.pem') });
  https.get('https://partner.example.test/catalog.json', { agent }, (up) => up.pipe(res));
});

app.use(function (err, req, res, next) {
  console.error(err);
  res.status(500).send('Something went wrong');
});

module.exports = app;
