// Tokens: verification that accepts any algorithm, and reset tokens from Math.random.
import { Request, Response, Router } from 'express';
import jwt from 'jsonwebtoken';

import { JWT_SECRET } from '../config';

export const authRouter = Router();

authRouter.get('/me', (req: Request, res: Response) => {
  const token = String(req.headers.authorization || '').replace('Bearer ', '');
  // No `algorithms` option: the token's own header picks how it is checked.
  const claims = jwt.verify(token, JWT_SECRET);
  res.json(claims);
});

authRouter.post('/reset', (req: Request, res: Response) => {
  // Predictable: Math.random is not a secure source for a password-reset token.
  const resetToken = Math.random().toString(36).slice(2);
  res.json({ user: req.body.user, resetToken });
});

// An open redirect: `next` can send the user to any site after login.
authRouter.get('/login/done', (req: Request, res: Response) => {
  res.redirect(req.query.next as string);
});
