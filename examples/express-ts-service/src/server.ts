// The Express app: no helmet, the X-Powered-By header left on, a huge body limit, CORS that
// reflects any origin with credentials, and an error handler that sends stack traces.
import cors from 'cors';
import express, { NextFunction, Request, Response } from 'express';

import { PORT } from './config';
import { adminRouter } from './routes/admin';
import { authRouter } from './routes/auth';
import { cacheRouter } from './routes/cache';
import { filesRouter } from './routes/files';
import { proxyRouter } from './routes/proxy';

const app = express();

app.use(express.json({ limit: '50mb' }));
app.use(
  cors({
    origin: (origin, callback) => callback(null, origin),
    credentials: true,
  }),
);

app.use('/admin', adminRouter);
app.use('/auth', authRouter);
app.use('/cache', cacheRouter);
app.use('/files', filesRouter);
app.use('/proxy', proxyRouter);

app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
  res.status(500).json({ error: err.message, stack: err.stack });
});

app.listen(PORT, () => {
  console.log(`listening on ${PORT}`);
});
