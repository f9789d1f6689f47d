// A Redis-backed cache whose keys come straight from the URL.
import { Request, Response, Router } from 'express';
import Redis from 'ioredis';

import { REDIS_URL } from '../config';

const redis = new Redis(REDIS_URL);

export const cacheRouter = Router();

// Key injection: `id` may hold `*`, `:` or another tenant's prefix.
cacheRouter.get('/users/:id', async (req: Request, res: Response) => {
  const cached = await redis.get(`user:${req.params.id}`);
  res.json({ cached });
});
