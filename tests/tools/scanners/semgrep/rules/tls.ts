// Test target for tools/scanners/semgrep/rules/tls.yaml (TypeScript, ES modules).
import https from 'node:https';
import * as tls from 'node:tls';
import Redis, { RedisOptions } from 'ioredis';
import { Agent, fetch } from 'undici';

const redisOptions: RedisOptions = {
  host: 'cache.example.test',
  // ruleid: js-tls-reject-unauthorized-off
  tls: { rejectUnauthorized: false } as tls.ConnectionOptions,
};
export const redis = new Redis(redisOptions);

export const dispatcher = new Agent({
  // ruleid: js-tls-reject-unauthorized-off
  connect: { rejectUnauthorized: false },
});

export const strictRedis = new Redis({
  host: 'cache.example.test',
  // ok: js-tls-reject-unauthorized-off
  tls: { rejectUnauthorized: true, servername: 'cache.example.test' },
});

// ok: js-tls-reject-unauthorized-off
export const agent: https.Agent = new https.Agent({ keepAlive: true });

export function configureTls(): void {
  // ruleid: js-tls-verification-disabled-globally
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
  // ok: js-tls-verification-disabled-globally
  const current: string | undefined = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  // ruleid: js-tls-verification-disabled-globally
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = 0 as unknown as string;
  // ok: js-tls-verification-disabled-globally
  https.globalAgent.options.ca = current;
}

export const loose = tls.connect({
  host: 'svc.example.test',
  // ruleid: js-tls-server-identity-check-disabled
  checkServerIdentity: (_host: string, _cert: tls.PeerCertificate) => undefined,
});

export const loose2 = tls.connect({
  host: 'svc.example.test',
  // ruleid: js-tls-server-identity-check-disabled
  checkServerIdentity: () => {},
});

export const checked = tls.connect({
  host: 'svc.example.test',
  // ok: js-tls-server-identity-check-disabled
  checkServerIdentity: (host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(host, cert),
});

// ok: js-tls-server-identity-check-disabled
export const plain = tls.connect({ host: 'svc.example.test', servername: 'svc.example.test' });

export { fetch };
