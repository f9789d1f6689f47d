// Test target for tools/scanners/semgrep/rules/tls.yaml (CommonJS).
const https = require('https');
const tls = require('tls');
const axios = require('axios');
const Redis = require('ioredis');
const { Pool } = require('pg');

// ruleid: js-tls-reject-unauthorized-off
const insecureAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

const client = axios.create({
  baseURL: 'https://internal.example.test',
  // ruleid: js-tls-reject-unauthorized-off
  httpsAgent: new https.Agent({ rejectUnauthorized: false }),
});

const socket = tls.connect({
  host: 'db.example.test',
  port: 443,
  // ruleid: js-tls-reject-unauthorized-off
  rejectUnauthorized: 0,
});

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  // ruleid: js-tls-reject-unauthorized-off
  ssl: { rejectUnauthorized: false },
});

const safeAgent = new https.Agent({
  keepAlive: true,
  // ok: js-tls-reject-unauthorized-off
  rejectUnauthorized: true,
});

const pinned = tls.connect({
  host: 'db.example.test',
  ca: [process.env.PRIVATE_CA],
  // ok: js-tls-reject-unauthorized-off
  rejectUnauthorized: process.env.TLS_STRICT !== 'false',
});

// ok: js-tls-reject-unauthorized-off
const opts = { rejectUnauthorizedWarnings: false };

// ruleid: js-tls-verification-disabled-globally
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

// ruleid: js-tls-verification-disabled-globally
https.globalAgent.options.rejectUnauthorized = false;

// ok: js-tls-verification-disabled-globally
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '1';

// ok: js-tls-verification-disabled-globally
if (process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') console.warn('TLS verification is off');

const lax = tls.connect({
  host: 'svc.example.test',
  // ruleid: js-tls-server-identity-check-disabled
  checkServerIdentity: () => undefined,
});

const lax2 = new https.Agent({
  // ruleid: js-tls-server-identity-check-disabled
  checkServerIdentity: function (host, cert) {},
});

const pinnedCheck = tls.connect({
  host: 'svc.example.test',
  // ok: js-tls-server-identity-check-disabled
  checkServerIdentity: (host, cert) => {
    const err = tls.checkServerIdentity(host, cert);
    if (err) return err;
    if (cert.fingerprint256 !== process.env.PINNED_FP) return new Error('pin mismatch');
    return undefined;
  },
});

// ok: js-tls-server-identity-check-disabled
const strict = tls.connect({ host: 'svc.example.test', checkServerIdentity: tls.checkServerIdentity });

module.exports = { insecureAgent, client, socket, pool, safeAgent, pinned, opts, lax, lax2, pinnedCheck, strict, Redis };
