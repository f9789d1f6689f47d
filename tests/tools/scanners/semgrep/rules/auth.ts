// Test target for tools/scanners/semgrep/rules/auth.yaml (TypeScript, ES modules).
import jwt, { JwtPayload } from 'jsonwebtoken';
import * as jsonwebtoken from 'jsonwebtoken';
import { verify } from 'jsonwebtoken';
import type { NextFunction, Request, Response } from 'express';
import { config } from './config';

// ruleid: js-secret-env-fallback
const secret: string = process.env['JWT_SECRET'] || 'dev-secret';
// ruleid: js-secret-env-fallback
const apiKey = config.apiKey || process.env.PARTNER_API_KEY || `partner-key`;
// ok: js-secret-env-fallback
const issuer = process.env.JWT_ISSUER || 'https://auth.example.test';
// ok: js-secret-env-fallback
const algorithm = process.env.JWT_ALGORITHM ?? 'HS256';

// ruleid: js-secret-env-fallback
export function signToken(payload: object, signingKey = 'changeme'): string {
  return jwt.sign(payload, signingKey, { algorithm: 'HS256' });
}

// ok: js-secret-env-fallback
export function greet(name = 'world'): string {
  return `hello ${name} ${issuer} ${algorithm} ${apiKey}`;
}

export function requireUser(req: Request, res: Response, next: NextFunction): void {
  // ruleid: js-auth-bypass-non-production
  if (process.env.NODE_ENV === 'development') return next();
  // ruleid: js-auth-bypass-non-production
  if (process.env.SKIP_AUTH === 'true') {
    (req as any).user = { id: 'dev', role: 'admin' };
  }
  // ok: js-auth-bypass-non-production
  if (!req.headers.authorization) return next(new Error('no token'));
  const token = req.headers.authorization.slice(7);
  try {
    // ruleid: js-jwt-verify-no-algorithms
    const claims = jwt.verify(token, secret) as JwtPayload;
    (req as any).user = claims;
    next();
  } catch {
    res.status(401).end();
  }
}

export const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
  const isDev = config.isDev;
  // ruleid: js-auth-bypass-non-production
  if (!config.isProduction) next();
  // ok: js-auth-bypass-non-production
  if (config.isProduction && isDev) console.warn('inconsistent config');
  // ruleid: js-jwt-verify-no-algorithms
  const claims = jsonwebtoken.verify(req.cookies.session, secret, { maxAge: '1h' }) as JwtPayload;
  // ok: js-jwt-verify-no-algorithms
  const again = verify(req.cookies.session, secret, { algorithms: ['HS256'], maxAge: '1h' });
  // ok: js-jwt-verify-no-algorithms
  const third = jwt.verify(req.cookies.session, secret, { ...config.jwtOptions, maxAge: '1h' });
  if (claims.role !== 'admin' || !again || !third) return res.status(403).end();
  next();
};

export async function profile(req: Request, res: Response) {
  // ruleid: js-jwt-decode-as-verify
  const payload = jwt.decode(req.cookies.token) as JwtPayload | null;
  if (!payload) return res.status(401).end();
  res.json({ id: payload.sub });
}

export function refresh(req: Request, res: Response) {
  // ok: js-jwt-decode-as-verify
  const old = jwt.decode(req.body.refresh) as JwtPayload;
  const checked = jwt.verify(req.body.refresh, secret, { algorithms: ['HS256'] }) as JwtPayload;
  res.json({ token: signToken({ sub: checked.sub, prev: old.jti }) });
}

// ok: js-jwt-decode-as-verify
export const debugClaims = (token: string) => jwt.decode(token);

// ruleid: js-jwt-none-algorithm
export const trustAll = (t: string) => jwt.verify(t, '', { algorithms: ['none'] });
// ok: js-jwt-none-algorithm
export const trustOne = (t: string) => jwt.verify(t, secret, { algorithms: ['HS256'] });
// ok: js-jwt-none-algorithm
export const noneIsNotAnAlgorithm = { algorithms: ['none'] };
