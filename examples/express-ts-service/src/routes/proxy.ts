// A fetch-on-behalf endpoint: server-side request forgery with TLS checks switched off.
import https from 'https';
import axios from 'axios';
import { Request, Response, Router } from 'express';

export const proxyRouter = Router();

const insecureAgent = new https.Agent({ rejectUnauthorized: false });

proxyRouter.get('/fetch', async (req: Request, res: Response) => {
  const target = req.query.url as string;
  const upstream = await axios.get(target, { httpsAgent: insecureAgent });
  res.send(upstream.data);
});
