// Admin helpers that run what the caller sends.
import { exec } from 'child_process';
import { Request, Response, Router } from 'express';

export const adminRouter = Router();

// Code injection: the expression is evaluated as JavaScript.
adminRouter.post('/calc', (req: Request, res: Response) => {
  const result = eval(req.body.expression);
  res.json({ result });
});

// Command injection: the file name reaches a shell.
adminRouter.get('/thumbnail', (req: Request, res: Response) => {
  exec(`convert ${req.query.file} -resize 64x64 /tmp/thumb.png`, (error, stdout) => {
    if (error) {
      res.status(500).send('failed');
      return;
    }
    res.send(stdout);
  });
});
