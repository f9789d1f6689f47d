// Test target for tools/scanners/semgrep/rules/injection.yaml (CommonJS).
const express = require('express');
const axios = require('axios');
const http = require('http');
const fs = require('fs');
const path = require('path');
const { exec, execFile, spawn } = require('child_process');
const vm = require('vm');
const _ = require('lodash');
const deepmerge = require('deepmerge');
const { Pool } = require('pg');
const mysql = require('mysql2/promise');

const router = express.Router();
const pool = new Pool();
const UPLOADS = path.join(__dirname, 'uploads');
const API_BASE = 'https://api.example.test';

// ---- SSRF
router.get('/proxy', async (req, res) => {
  // ruleid: js-ssrf-request-url
  const upstream = await axios.get(req.query.url);
  res.send(upstream.data);
});

router.post('/webhook-test', async (req, res) => {
  const { target } = req.body;
  // ruleid: js-ssrf-request-url
  const r = await fetch(target, { method: 'POST', body: '{}' });
  res.sendStatus(r.status);
});

router.get('/avatar', (req, res) => {
  // ruleid: js-ssrf-request-url
  http.get({ host: req.query.host, path: '/avatar.png' }, (up) => up.pipe(res));
});

router.get('/user/:id', async (req, res) => {
  // ok: js-ssrf-request-url
  const r = await axios.get('https://api.example.test/users/' + req.params.id);
  // ok: js-ssrf-request-url
  const s = await fetch(`${API_BASE}/users/${encodeURIComponent(req.params.id)}`);
  // ok: js-ssrf-request-url
  const t = await axios.get('https://status.example.test/health');
  res.json({ r: r.data, s: await s.json(), t: t.data });
});

// ---- path traversal
router.get('/files/:name', (req, res) => {
  // ruleid: js-path-traversal
  fs.readFile(path.join(UPLOADS, req.params.name), (err, data) => res.send(data));
});

router.delete('/files', (req, res) => {
  const target = path.resolve(UPLOADS, req.body.file);
  // ruleid: js-path-traversal
  fs.unlinkSync(target);
  res.sendStatus(204);
});

router.get('/download', (req, res) => {
  // ruleid: js-path-traversal
  res.download(path.join(UPLOADS, req.query.file));
});

router.get('/safe/:name', (req, res) => {
  // ok: js-path-traversal
  res.sendFile(req.params.name, { root: UPLOADS });
  // ok: js-path-traversal
  fs.createReadStream(path.join(UPLOADS, path.basename(req.params.name))).pipe(res);
});

router.get('/checked', (req, res) => {
  const full = path.resolve(UPLOADS, String(req.query.file));
  if (!full.startsWith(UPLOADS + path.sep)) return res.status(400).end();
  // ok: js-path-traversal
  fs.readFile(full, (err, data) => res.send(data));
});

// ---- command injection
router.post('/ping', (req, res) => {
  // ruleid: js-command-injection
  exec(`ping -c 1 ${req.body.host}`, (err, out) => res.send(out));
});

router.post('/convert', (req, res) => {
  // ruleid: js-command-injection
  const p = spawn('convert', [req.body.input, 'out.png'], { shell: true });
  p.on('close', () => res.end());
});

router.post('/ping2', (req, res) => {
  // ok: js-command-injection
  execFile('ping', ['-c', '1', '--', String(req.body.host)], (err, out) => res.send(out));
  // ok: js-command-injection
  spawn('ls', ['-l', req.body.dir]);
  // ok: js-command-injection
  exec('git rev-parse HEAD', (err, out) => res.send(out));
});

// ---- code injection
router.post('/calc', (req, res) => {
  // ruleid: js-code-injection
  res.json({ value: eval(req.body.expression) });
});

router.post('/template', (req, res) => {
  // ruleid: js-code-injection
  const out = vm.runInNewContext(req.body.code, { data: req.body.data });
  res.json(out);
});

router.post('/delay', (req, res) => {
  // ok: js-code-injection
  setTimeout(() => res.json({ echo: req.body.message }), 100);
  // ok: js-code-injection
  const parsed = JSON.parse(req.body.json);
  // ok: js-code-injection
  eval('1 + 1');
  console.log(parsed);
});

// ---- SQL injection
router.get('/users', async (req, res) => {
  // ruleid: js-sql-injection
  const { rows } = await pool.query(`SELECT * FROM users WHERE name = '${req.query.name}'`);
  res.json(rows);
});

router.get('/orders', async (req, res) => {
  const conn = await mysql.createConnection(process.env.DATABASE_URL);
  const sql = 'SELECT * FROM orders WHERE status = "' + req.query.status + '" ORDER BY id';
  // ruleid: js-sql-injection
  const [rows] = await conn.execute(sql);
  res.json(rows);
});

router.get('/users/:id', async (req, res) => {
  // ok: js-sql-injection
  const { rows } = await pool.query('SELECT * FROM users WHERE id = $1', [req.params.id]);
  // ok: js-sql-injection
  const more = await pool.query({ text: 'SELECT * FROM orders WHERE user_id = $1', values: [req.params.id] });
  // ok: js-sql-injection
  const n = await pool.query(`SELECT * FROM users LIMIT ${parseInt(req.query.limit, 10)}`);
  res.json({ rows, more: more.rows, n: n.rows });
});

// ---- prototype pollution
router.post('/settings', (req, res) => {
  // ruleid: js-prototype-pollution-merge
  const settings = _.merge({}, DEFAULTS, req.body);
  res.json(settings);
});

router.post('/prefs', (req, res) => {
  // ruleid: js-prototype-pollution-merge
  const prefs = deepmerge(DEFAULTS, req.body.prefs);
  res.json(prefs);
});

router.post('/profile', (req, res) => {
  // ok: js-prototype-pollution-merge
  const profile = Object.assign({}, DEFAULTS, req.body);
  // ok: js-prototype-pollution-merge
  const picked = _.merge({}, DEFAULTS, _.pick(req.body, ['name', 'email']));
  res.json({ profile, picked });
});

const DEFAULTS = { theme: 'light' };
module.exports = router;
