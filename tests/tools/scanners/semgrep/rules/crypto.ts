// Test target for tools/scanners/semgrep/rules/crypto.yaml (TypeScript, ES modules).
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

interface User {
  apiKey: string;
  resetToken?: string;
  passwordHash: string;
}

// ruleid: js-math-random-secret
export const makeSecret = (): string => Math.random().toString(36).slice(2) + Date.now().toString(36);

export class Sessions {
  createNonce(): string {
    // ruleid: js-math-random-secret
    return Math.random().toString(16).substring(2);
  }

  issue(user: User): void {
    // ruleid: js-math-random-secret
    user.apiKey = `key_${Math.random().toString(36).slice(2)}`;
    // ok: js-math-random-secret
    user.resetToken = randomBytes(24).toString('hex');
  }
}

// ok: js-math-random-secret
export const otp: number = randomInt(100000, 1000000);
// ok: js-math-random-secret
export function jitter(base: number): number {
  return base + Math.random() * 250;
}
// ok: js-math-random-secret
export const backoffMs = Math.round(Math.random() * 100);

export function verifySignature(req: Request, res: Response, user: User): boolean {
  const expectedSig = createHmac('sha256', user.apiKey).update(JSON.stringify(req.body)).digest('hex');
  // ruleid: js-timing-unsafe-secret-compare
  if (req.header('x-signature') === expectedSig) return true;
  // ruleid: js-timing-unsafe-secret-compare
  if (user.resetToken !== req.body.token) res.status(403);
  // ruleid: js-timing-unsafe-secret-compare
  const match = createHmac('sha256', 'k').update('x').digest('hex') == req.query.mac;
  // ok: js-timing-unsafe-secret-compare
  if (req.body.token === null || req.body.token === '') return false;
  // ok: js-timing-unsafe-secret-compare
  if (req.headers['x-token-type'] === 'Bearer') return false;
  // ok: js-timing-unsafe-secret-compare
  if (req.body.device?.mac === user.apiKey.length.toString()) return false;
  const a = Buffer.from(expectedSig);
  const b = Buffer.from(String(req.header('x-signature')));
  // ok: js-timing-unsafe-secret-compare
  return match || (a.length === b.length && timingSafeEqual(a, b));
}
