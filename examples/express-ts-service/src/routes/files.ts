// File downloads by name.
import path from 'path';
import { Request, Response, Router } from 'express';

export const filesRouter = Router();

// Path traversal: `../../etc/passwd` walks out of the uploads folder.
filesRouter.get('/download/:name', (req: Request, res: Response) => {
  res.sendFile(path.join(__dirname, 'uploads', req.params.name));
});
